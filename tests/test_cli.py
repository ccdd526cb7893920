from __future__ import annotations

from pathlib import Path

from aisearch_widgets.cli import main


def test_index_then_status(tiny_model: str, images: Path, home: Path, capsys) -> None:
    (images / "bad.png").write_bytes(b"nope")
    assert main(["--home", str(home), "index", str(images), "--model", tiny_model, "-q"]) == 0
    out = capsys.readouterr().out
    assert "images: 12/13 embedded, 1 failed" in out
    assert main(["--home", str(home), "status", "images", "--failures"]) == 0
    out = capsys.readouterr().out
    assert "12/13 embedded" in out and "not_an_image" in out and "bad.png" in out
    # Indexing again is incremental.
    assert main(["--home", str(home), "index", str(images), "-q"]) == 0
    assert "added 0, changed 0, deleted 0" in capsys.readouterr().out


def test_errors_are_one_line_not_tracebacks(home: Path, tmp_path: Path, capsys) -> None:
    assert main(["--home", str(home), "index", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["--home", str(home), "status", "nothing"]) == 1
    assert "No project 'nothing'" in capsys.readouterr().err


def test_search_and_collections_commands(tiny_model: str, images: Path, home: Path, capsys) -> None:
    assert main(["--home", str(home), "index", str(images), "--model", tiny_model, "-q"]) == 0
    capsys.readouterr()
    out_csv = home.parent / "hits.csv"
    args = ["--home", str(home), "search", "images", "a red disc", "--limit", "3"]
    assert main([*args, "--csv", str(out_csv), "--save", "reds"]) == 0
    assert "3 results written" in capsys.readouterr().out
    assert out_csv.read_text().splitlines()[0] == "rank,score,path,tags"
    assert main(["--home", str(home), "collections", "images"]) == 0
    assert capsys.readouterr().out.startswith("reds\t3 images\ta red disc")
    assert main(["--home", str(home), "collections", "images", "--show", "reds"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
