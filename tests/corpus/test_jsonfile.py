"""JSON files beside the index: written whole, read back, None when absent."""
from __future__ import annotations

from corpus.jsonfile import read_json, write_json


def test_written_whole_into_a_new_folder_and_read_back(tmp_path):
    path = tmp_path / "wording" / "learned.json"
    assert read_json(path) is None
    write_json(path, {"terms": {"老板": ["用人单位"]}})
    assert read_json(path) == {"terms": {"老板": ["用人单位"]}}
    assert "用人单位" in path.read_text(encoding="utf-8")  # Chinese kept readable for an admin
    write_json(path, {"terms": {}})  # replaced, no temporary file left beside it
    assert read_json(path) == {"terms": {}} and [p.name for p in path.parent.iterdir()] == ["learned.json"]
