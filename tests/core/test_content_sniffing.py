"""Local files are recognised by their bytes, never by their names: a text file called
``.png``, ``.wav`` or ``.pdf`` is an ``InvalidInputError`` before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisa_core import InvalidInputError, audio_part, file_part, image_part

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
WAV = b"RIFF\x24\0\0\0WAVEfmt " + b"\0" * 20
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\0" * 20
TEXT = b"just some notes, not media\n"


def test_a_text_file_named_png_is_not_an_image(tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_bytes(TEXT)

    with pytest.raises(InvalidInputError, match="image type") as caught:
        image_part(notes)

    assert str(notes) in caught.value.message
    assert "just some notes" not in str(caught.value)


def test_an_image_is_recognised_whatever_its_name(tmp_path: Path) -> None:
    picture = tmp_path / "picture.txt"
    picture.write_bytes(PNG)

    url = image_part(picture)["image_url"]["url"]

    assert url.startswith("data:image/png;base64,")


def test_mime_type_names_a_format_not_recognised_here() -> None:
    avif = b"\0\0\0\x1cftypavif" + b"\0" * 16

    assert image_part(avif, mime_type="image/avif")["image_url"]["url"].startswith(
        "data:image/avif;base64,"
    )
    with pytest.raises(InvalidInputError, match="image type"):
        image_part(avif)
    with pytest.raises(InvalidInputError, match="mime_type must be an image"):
        image_part(PNG, mime_type="text/plain")


def test_a_data_url_must_hold_an_image() -> None:
    assert image_part("data:image/png;base64,iVBORw0KGgo=")["image_url"]["url"].startswith(
        "data:image/png"
    )
    with pytest.raises(InvalidInputError, match=r"data:image/"):
        image_part("data:text/plain;base64,aGVsbG8=")


def test_audio_is_recognised_by_its_bytes(tmp_path: Path) -> None:
    fake = tmp_path / "talk.wav"
    fake.write_bytes(TEXT)
    real = tmp_path / "talk.bin"
    real.write_bytes(WAV)

    with pytest.raises(InvalidInputError, match="audio format") as caught:
        audio_part(fake)

    assert str(fake) in caught.value.message
    assert audio_part(real)["input_audio"]["format"] == "wav"
    assert audio_part(MP3_FRAME)["input_audio"]["format"] == "mp3"
    assert audio_part(b"ID3\x04" + TEXT)["input_audio"]["format"] == "mp3"
    assert audio_part(TEXT, format="flac")["input_audio"]["format"] == "flac"


def test_a_text_file_named_pdf_is_not_a_pdf(tmp_path: Path) -> None:
    fake = tmp_path / "report.pdf"
    fake.write_bytes(TEXT)
    real = tmp_path / "report-real.pdf"
    real.write_bytes(b"%PDF-1.7\n" + TEXT)

    with pytest.raises(InvalidInputError, match="not a PDF"):
        file_part(fake)

    assert file_part(real)["file"]["file_data"].startswith("data:application/pdf;base64,")
    assert file_part(fake, mime_type="text/plain")["file"]["file_data"].startswith(
        "data:text/plain;base64,"
    )
