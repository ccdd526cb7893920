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


def test_output_escapes_control_characters(
    tiny_model: str, tmp_path: Path, home: Path, capsys
) -> None:
    from aisearch_widgets.cli import printable

    from _helpers import draw

    root = tmp_path / "imgs"
    evil = "evil\x1b]0;pwned\x07\x1b[2J\nFAKE 0.9999 /etc/passwd\r\u202ex.png"
    draw(root / evil, "red")
    draw(root / "plain.png", "blue")
    (root / "bad\x1b[31m\n.png").write_bytes(b"nope")
    assert main(["--home", str(home), "index", str(root), "--model", tiny_model, "-q"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "search", "imgs", "a red disc", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out and "\x07" not in out
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\nFAKE" in out
    assert main(["--home", str(home), "status", "imgs", "--failures"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "bad\\x1b[31m\\n.png" in out and len(out.splitlines()) == 2
    assert printable("tab\there é ü 中") == "tab\\there é ü 中"
    assert main(["--home", str(home), "status", "no\x1bname"]) == 1
    assert "\x1b" not in capsys.readouterr().err


def test_status_goes_on_after_a_broken_project(
    tiny_model: str, images: Path, home: Path, capsys
) -> None:
    import aisearch_widgets as aw

    for name in ("a-broken", "b-fine"):
        with aw.Project(name, sources=images, model=tiny_model, home=home):
            pass
    (home / "a-broken" / "project.json").write_text("[")
    assert main(["--home", str(home), "status"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("b-fine: disabled") and err.count("\n") == 1
    assert "a-broken" in err and "aisearch repair a-broken" in err


def test_index_refuses_a_schedule_out_of_range_before_indexing(
    tiny_model: str, images: Path, home: Path, capsys
) -> None:
    args = ["--home", str(home), "index", str(images), "--model", tiny_model, "-q", "--enable"]
    assert main([*args, "--schedule", "200000d"]) == 1
    err = capsys.readouterr().err
    assert "'200000d' is out of range" in err and "between 1s and 365d" in err
    assert err.count("\n") == 1  # one line, no traceback
    assert not (home / "images").exists()  # refused before anything was indexed


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("aisearch: ")
    return err


def test_search_csv_to_a_folder_or_a_full_device_is_a_one_line_error(
    tiny_model: str, images: Path, home: Path, tmp_path: Path, capsys
) -> None:
    assert main(["--home", str(home), "index", str(images), "--model", tiny_model, "-q"]) == 0
    capsys.readouterr()
    search = ["--home", str(home), "search", "images", "a red disc", "--limit", "3"]

    folder = tmp_path / "a folder"
    folder.mkdir()
    assert main([*search, "--csv", str(folder)]) == 2
    assert "is a folder" in _one_line_error(capsys)
    assert list(folder.iterdir()) == []

    assert main([*search, "--csv", str(tmp_path / "missing" / "hits.csv")]) == 2
    assert "does not exist" in _one_line_error(capsys)

    if Path("/dev/full").exists():
        assert main([*search, "--csv", "/dev/full"]) == 2
        assert "No space left" in _one_line_error(capsys)


def test_demo_refuses_a_count_below_one(home: Path, tmp_path: Path, capsys) -> None:
    demo = ["--home", str(home), "demo", "--no-lab", "--no-browser"]
    assert main([*demo, "--n", "-5"]) == 2
    assert "--n must be at least 1 image (got -5)" in _one_line_error(capsys)
    new = tmp_path / "new-demo"
    assert main([*demo, "--n", "0", "--folder", str(new)]) == 2
    assert "(got 0)" in _one_line_error(capsys)
    assert not new.exists()


def test_index_of_a_device_says_what_it_is(home: Path, capsys) -> None:
    assert main(["--home", str(home), "index", "/dev/null"]) == 2
    assert "/dev/null: not a folder or a regular file" in _one_line_error(capsys)
