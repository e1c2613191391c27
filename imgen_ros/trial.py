"""Announce trials on ``/imgen/trial`` from the bench (real robot: the operator marks start and end).

    python -m imgen_ros.trial start --trial 3 --policy runs/imgen/best.pt --seed 3 --operator alice
    python -m imgen_ros.trial end --outcome success [--note "regrasped once"]

``trial_recorder`` opens a bag on ``start`` and closes it on ``end``; ``policy_server`` resets its RNN on ``start``.
(In the twin, ``sim_world`` publishes these events itself.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from imgen_ros import schemas as S


def publish_event(event: dict[str, Any], wait_subscribers: float = 5.0) -> int:
    """Publish one JSON event once the recorder (any subscriber) is matched; returns the subscriber count."""
    import rclpy
    from std_msgs.msg import String

    rclpy.init()
    try:
        node = rclpy.create_node("imgen_trial_cli")
        pub = node.create_publisher(String, S.TRIAL, 10)
        end = time.monotonic() + wait_subscribers
        while pub.get_subscription_count() == 0 and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
        n = pub.get_subscription_count()
        pub.publish(String(data=json.dumps(event)))
        t = time.monotonic() + 0.5  # let the message go out before the node disappears
        while time.monotonic() < t:
            rclpy.spin_once(node, timeout_sec=0.05)
        node.destroy_node()
        return n
    finally:
        rclpy.try_shutdown()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imgen_ros.trial", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="event", required=True)
    s = sub.add_parser("start", help="a trial starts now")
    s.add_argument("--trial", type=int, help="trial number (names the bag)")
    s.add_argument("--policy", help="policy checkpoint or label")
    s.add_argument("--seed", type=int)
    s.add_argument("--operator", default="human")
    s.add_argument("--note")
    e = sub.add_parser("end", help="the running trial ended")
    e.add_argument("--outcome", required=True, choices=["success", "failure", "aborted"])
    e.add_argument("--note")
    args = ap.parse_args(argv)
    event = {k: v for k, v in vars(args).items() if v is not None}
    event["wall_time"] = time.time()
    n = publish_event(event)
    if n == 0:
        print("warning: no subscriber on /imgen/trial (is trial_recorder running?)", file=sys.stderr)
    print(json.dumps(event))
    return 0


if __name__ == "__main__":
    sys.exit(main())
