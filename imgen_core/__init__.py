"""imgen core library: pure Python + NumPy (no ROS, no simulator imports at module import time)."""

__version__ = "0.1.0"
