"""rosbag2 reading and writing with ``rosbags`` (pure Python: no rclpy, no rosbag2_py).

Our bags are real rosbag2 (version 9, MCAP or sqlite3): ``ros2 bag info/play`` read them. The message types we
record are registered in a ``rosbags`` typestore (the ROS 2 kilted store, plus any type missing from it taken
from the ``.msg`` files of the installed ROS message packages); when reading, types unknown to the store are
registered from the definitions stored in the bag itself.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgen_core.errors import DatasetError

TRIAL_META_KEY = "imgen.trial"  # key in metadata.yaml custom_data
TRIAL_SIDE_JSON = "trial.json"  # side file inside the bag directory


def _msg_file(msgtype: str) -> Path | None:
    pkg, _, name = msgtype.split("/")
    for prefix in [*os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep), sys.prefix]:
        cand = Path(prefix) / "share" / pkg / "msg" / f"{name}.msg"
        if prefix and cand.is_file():
            return cand
    return None


def make_typestore(msgtypes: Iterable[str] = ()) -> Any:
    """A typestore holding the ROS 2 kilted types plus ``msgtypes`` (registered from installed ``.msg`` files)."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    missing = [t for t in msgtypes if t not in store.types]
    add: dict[str, Any] = {}
    for t in missing:
        path = _msg_file(t)
        if path is None:
            raise DatasetError(f"message type {t} is neither in rosbags' kilted store nor installed (.msg)")
        add.update(get_types_from_msg(path.read_text(), t))
    if add:
        store.register(add)
    return store


def storage_plugin(name: str) -> Any:
    from rosbags.rosbag2 import StoragePlugin

    return {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[name]


class BagWriter:
    """One rosbag2 being written: raw CDR messages in, connections added on first use."""

    def __init__(self, path: str | os.PathLike[str], storage: str, typestore: Any) -> None:
        from rosbags.rosbag2 import Writer

        self.path = Path(path)
        self.typestore = typestore
        self._writer = Writer(self.path, version=9, storage_plugin=storage_plugin(storage))
        self._writer.open()
        self._conns: dict[str, Any] = {}
        self.count = 0

    def write_raw(self, topic: str, msgtype: str, data: bytes, t_ns: int) -> None:
        conn = self._conns.get(topic)
        if conn is None:
            conn = self._conns[topic] = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
        self._writer.write(conn, int(t_ns), bytes(data))
        self.count += 1

    def write(self, topic: str, msgtype: str, msg: Any, t_ns: int) -> None:
        """Serialise a ``rosbags`` message object and write it."""
        self.write_raw(topic, msgtype, self.typestore.serialize_cdr(msg, msgtype), t_ns)

    def close(self, meta: dict[str, Any] | None = None) -> None:
        if meta is not None:
            self._writer.set_custom_data(TRIAL_META_KEY, json.dumps(meta, sort_keys=True))
            (self.path / TRIAL_SIDE_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True))
        self._writer.close()


def deserialize(store: Any, raw: bytes, msgtype: str) -> Any:
    """CDR bytes → message, tolerating trailing bytes after a complete message.

    rmw_fastrtps' serialisation (e.g. ``rclpy.serialization.serialize_message``) can report a buffer a few bytes
    longer than the CDR content; ``rosbags`` rejects any such tail. The content itself is standard CDR, so the
    message is decoded and the tail ignored.
    """
    from rosbags.serde import SerdeError

    try:
        return store.deserialize_cdr(raw, msgtype)
    except SerdeError as exc:
        if "size mismatch" not in str(exc):
            raise
        msgdef = store.get_msgdef(msgtype)
        func = msgdef.deserialize_cdr_le if raw[1] else msgdef.deserialize_cdr_be
        msg, _ = func(memoryview(raw)[4:], 0, msgdef.cls, store)
        return msg


@dataclass
class BagMessage:
    topic: str
    msgtype: str
    t_ns: int  # record (receive) time
    msg: Any


def is_bag(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / "metadata.yaml").is_file()


def find_bags(root: str | os.PathLike[str]) -> list[Path]:
    """``root`` itself if it is a bag, else every bag directory below it (sorted)."""
    root = Path(root)
    if is_bag(root):
        return [root]
    if not root.is_dir():
        raise DatasetError(f"{root} is neither a rosbag2 directory nor a directory containing bags")
    return sorted(p.parent for p in root.rglob("metadata.yaml"))


def read_bag(path: str | os.PathLike[str], topics: Iterable[str] | None = None
             ) -> tuple[Iterator[BagMessage], dict[str, Any]]:
    """Messages of a bag in record-time order (optionally only ``topics``) and its trial metadata.

    Trial metadata is the ``imgen.trial`` custom-data entry (or the side JSON; ``{}`` when neither exists).
    """
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import get_types_from_msg

    path = Path(path)
    store = make_typestore()
    reader = Reader(path)
    reader.open()
    meta: dict[str, Any] = {}
    custom = getattr(reader, "custom_data", None) or {}
    if TRIAL_META_KEY in custom:
        meta = json.loads(custom[TRIAL_META_KEY])
    elif (path / TRIAL_SIDE_JSON).is_file():
        meta = json.loads((path / TRIAL_SIDE_JSON).read_text())
    for conn in reader.connections:
        if conn.msgtype not in store.types and conn.msgdef.data:
            store.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
    wanted = set(topics) if topics is not None else None
    conns = [c for c in reader.connections if wanted is None or c.topic in wanted]

    def messages() -> Iterator[BagMessage]:
        try:
            if conns:
                for conn, t_ns, raw in reader.messages(connections=conns):
                    yield BagMessage(conn.topic, conn.msgtype, t_ns, deserialize(store, raw, conn.msgtype))
        finally:
            reader.close()

    return messages(), meta
