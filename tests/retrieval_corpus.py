"""A dozen short documents and five questions whose answer is in exactly one of them, shared
by the retrieval tests of the core, the stand-in and both adapters."""

from __future__ import annotations

DOCS = [
    "The Amazon river flows through Peru, Colombia and Brazil.",
    "Lima is the capital of Peru and sits on the Pacific coast.",
    "Machu Picchu is a 15th-century Inca citadel in the Andes.",
    "Ceviche is a Peruvian dish of raw fish cured in citrus juice.",
    "The Nazca lines are ancient geoglyphs in southern Peru.",
    "Lake Titicaca lies on the border of Peru and Bolivia.",
    "The Eiffel Tower was finished in 1889 for the World's Fair.",
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
    "The Great Barrier Reef is the largest coral reef system.",
    "Honey never spoils when it is sealed and kept dry.",
    "Mount Everest is the highest mountain above sea level.",
    "Octopuses have three hearts and blue blood.",
]
QUESTIONS = {
    "What is the capital of Peru?": 1,
    "How many hearts does an octopus have?": 11,
    "When was the Eiffel Tower finished?": 6,
    "Which lake is on the border with Bolivia?": 5,
    "What do plants make from sunlight?": 7,
}
