"""The gallery's round trips: a new view's first page comes with its thumbnails, and
the next page can be asked ahead (items and thumbnails) before Next is pressed."""

from __future__ import annotations

from aisearch_widgets.widgets._protocol import THUMBS_SENT


def _ask(panel, **content) -> tuple[dict, list]:
    """A gallery request as the front end sends it; Python's reply and its buffers."""
    rid = f"paging-{len(panel.sent)}"
    panel.gallery._handle_custom_msg({"rid": rid, **content}, [])
    return next((m, b) for m, b in panel.sent if m.get("rid") == rid)


def _ids(items: list[dict]) -> list[str]:
    return [it["id"] for it in items]


def test_a_new_view_sends_its_first_pages_thumbnails_before_the_items(panel) -> None:
    panel.project.update()
    seen: list[tuple[str, list[str]]] = []  # what reached the browser, in order
    send = panel.gallery.send
    panel.gallery.send = lambda msg, buffers=None: (
        seen.append(("msg", list(msg.get("ids", [])))),
        send(msg, buffers),
    )
    panel.gallery.observe(lambda ch: seen.append(("items", _ids(ch["new"]))), "items")
    panel.search("x", limit=20)
    page = _ids(panel.gallery.items)
    assert len(page) == 8
    pushed = [(m, b) for m, b in panel.sent if m.get("type") == THUMBS_SENT]
    assert len(pushed) == 1
    msg, buffers = pushed[0]
    assert msg["ids"] == page and len(buffers) == 8
    assert all(b[:2] == b"\xff\xd8" for b in buffers)
    assert seen.index(("msg", page)) < seen.index(("items", page))  # thumbnails first
    # Turning the page (the browser writes ``page``) sends nothing unasked.
    panel.gallery.page = 1
    assert len([m for m, _ in panel.sent if m.get("type") == THUMBS_SENT]) == 1
    # A filter that keeps the same first page (everything above the lowest score)
    # makes a new view but sends no thumbnails again: the browser has them.
    panel.gallery.page = 0
    view = panel.gallery.view_id
    panel.above(float(panel.result.scores.min()) - 1)
    assert panel.gallery.view_id == view + 1
    assert len([m for m, _ in panel.sent if m.get("type") == THUMBS_SENT]) == 1


def test_uncached_thumbnails_are_left_to_the_browsers_request(panel) -> None:
    panel.project.update()
    panel.project.thumbs.get = lambda _id: None  # nothing cached
    panel.search("x", limit=20)
    assert len(panel.gallery.items) == 8
    assert not [m for m, _ in panel.sent if m.get("type") == THUMBS_SENT]


def test_a_page_bigger_than_one_message_is_left_to_the_browsers_requests(
    panel, monkeypatch
) -> None:
    from aisearch_widgets.widgets import _media

    panel.project.update()
    monkeypatch.setattr(_media, "MAX_THUMBS", 5)  # a page of 8 is more than one message
    panel.search("x", limit=20)
    assert len(panel.gallery.items) == 8
    assert not [m for m, _ in panel.sent if m.get("type") == THUMBS_SENT]


def test_the_next_page_asked_ahead_is_the_page_next_shows(panel) -> None:
    panel.project.update()
    panel.search("x", limit=20)
    view = panel.gallery.view_id
    reply, buffers = _ask(panel, type="page_ahead", page=1, view=view)
    assert reply["ok"] and reply["page"] == 1 and reply["view"] == view
    ahead = reply["items"]
    assert reply["ids"] == _ids(ahead) and len(ahead) == 8
    assert len(buffers) == 8 and all(b[:2] == b"\xff\xd8" for b in buffers)
    panel.gallery.page = 1  # what the browser writes when it draws that page
    assert panel.gallery.items == ahead  # the same images: the browser keeps its cards
    # The last page holds the rest; past it, nothing.
    assert len(_ask(panel, type="page_ahead", page=2, view=view)[0]["items"]) == 4
    assert _ask(panel, type="page_ahead", page=3, view=view)[0]["items"] == []


def test_a_page_asked_for_an_older_view_gets_no_items(panel) -> None:
    panel.project.update()
    panel.search("x", limit=20)
    old = panel.gallery.view_id
    panel.search("y", limit=12)
    assert panel.gallery.view_id > old
    reply, buffers = _ask(panel, type="page_ahead", page=1, view=old)
    assert reply["ok"] and reply["items"] == [] and buffers == []
    assert reply["view"] == panel.gallery.view_id


def test_a_lasso_draws_its_first_page_before_reading_every_lassoed_row(panel) -> None:
    import numpy as np

    panel.project.update()
    panel.show_map()
    view = panel.map_view
    catalog = panel.project.catalog
    read: list[int] = []  # ids asked of the catalog per query, until the page is drawn
    records, tags_of = catalog.records, catalog.tags_of
    drawn: list[int] = []

    def counted(fn):
        def run(ids, *a, **kw):
            if not drawn:
                read.append(len(ids))
            return fn(ids, *a, **kw)

        return run

    catalog.records, catalog.tags_of = counted(records), counted(tags_of)
    panel.gallery.observe(lambda ch: drawn.append(len(ch["new"])), "items")
    rows = np.arange(24, dtype=np.uint32)  # a lasso of 24 images; a page holds 8
    view.scatter.widget.selection = rows
    assert drawn and drawn[0] == 8
    assert read and max(read) <= 8  # only the first page's rows were read before it
    pushed = [m for m, _ in panel.sent if m.get("type") == THUMBS_SENT]
    assert pushed[-1]["ids"] == [it["id"] for it in panel.gallery.items]
    # The full view follows: every lassoed image, in map order, the header says so.
    assert panel.result.ids == [view.ids[r] for r in rows]
    assert panel.gallery.total == 24 and panel.header == "Map selection · 24"
    assert len(drawn) == 1  # its first page names the same images: not sent again


def test_a_page_asked_ahead_before_a_new_keeper_is_not_drawn(project_factory, tmp_path) -> None:
    # A duplicate group across a page boundary: the page asked ahead says which copy
    # is kept. Choosing another keeper must void it, or Next draws the old "keep"
    # badge (the browser keeps its cards for the same images: the badge stays).
    import shutil

    import aisearch_widgets as aw

    from _helpers import make_folder, record_sends, touch_later

    root = tmp_path / "imgs"
    files = make_folder(root, 3, sub=False)
    for name in ("copy_a.jpg", "copy_b.jpg"):
        shutil.copyfile(files[0], root / name)
        touch_later(root / name, 60)
    proj = project_factory("d", root)
    proj.update()
    panel = aw.SearchPanel(proj, page_size=2, poll_interval=0)
    record_sends(panel)
    panel.sent = panel.gallery.sent
    try:
        panel.controls._handle_custom_msg({"rid": "dups", "type": "search_duplicates"}, [])
        panel._jobs.join()
        g = panel.gallery
        assert [it["best"] for it in g.items] == [True, False]
        view = g.view_id
        ahead = _ask(panel, type="page_ahead", page=1, view=view)[0]["items"]
        third = ahead[0]["id"]  # the group's third copy, on the next page
        assert ahead[0]["best"] is False
        assert _ask(panel, type="set_keeper", id=third)[0]["ok"]
        assert g.view_id != view  # the browser drops what it asked ahead
        fresh = _ask(panel, type="page_ahead", page=1, view=g.view_id)[0]["items"]
        assert fresh[0]["id"] == third and fresh[0]["best"] is True
    finally:
        panel.close()


def test_a_broken_image_on_the_page_asked_ahead_says_nothing_yet(panel) -> None:
    # The page asked ahead is not shown: a thumbnail that fails there is said when
    # that page is shown (its own request), not over the page being looked at; and
    # the page's other items and pictures still come.
    panel.project.update()
    panel.search("x", limit=20)
    view = panel.gallery.view_id
    second = _ask(panel, type="page_ahead", page=1, view=view)[0]["items"]
    broken = second[0]
    thumbs = panel.project.thumbs
    thumbs.remove(broken["id"])
    make = thumbs.make

    def failing(pid, path):  # an OS failure making this one thumbnail
        if pid == broken["id"]:
            raise OSError(5, "Input/output error", path)
        return make(pid, path)

    thumbs.make = failing
    reply, buffers = _ask(panel, type="page_ahead", page=1, view=view)
    assert reply["ok"] and _ids(reply["items"]) == _ids(second)
    assert buffers[0] == b"" and all(b[:2] == b"\xff\xd8" for b in buffers[1:])
    assert panel.gallery.message == ""
    # Shown, the page asks for its thumbnails, and the failure is said then.
    panel.gallery.page = 1
    reply, _ = _ask(panel, type="thumbs", ids=_ids(second))
    assert not reply["ok"] and panel.gallery.message_kind == "error"
