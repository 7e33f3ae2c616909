"""``vidstyle evaluate`` takes its data paths from its options, never from the working folder."""

from __future__ import annotations

from pathlib import Path

from vidstyle.cli import main


def _shared_beside(tmp_path: Path) -> Path:
    """A working folder with ../shared/data/{sintel,styles/candy.jpg} beside it, as in
    the development checkout."""
    shared = tmp_path / "shared" / "data"
    (shared / "sintel").mkdir(parents=True)
    (shared / "styles").mkdir()
    (shared / "styles" / "candy.jpg").write_bytes(b"")
    work = tmp_path / "work"
    work.mkdir()
    return work


def _one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_without_sintel_or_clips_it_asks_for_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(_shared_beside(tmp_path))
    assert main(["evaluate", "--style-image", "x.jpg", "-o", str(tmp_path / "o"), "-q"]) == 1
    assert "give --sintel ROOT" in _one_error(capsys) and not (tmp_path / "o").exists()


def test_without_a_style_image_it_asks_for_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(_shared_beside(tmp_path))
    assert main(["evaluate", "--sintel", str(tmp_path), "-o", str(tmp_path / "o"), "-q"]) == 1
    line = _one_error(capsys)
    assert "style image is needed" in line and "(--style-image)" in line
    assert not (tmp_path / "o").exists()
