"""robomimic HDF5 datasets with imgen's ``datagen_info`` group: write, read, validate, merge, split."""

from imgen_core.dataset.episode import Episode, EpisodeRecorder
from imgen_core.dataset.hdf5io import demo_name, file_attrs, read_episode, read_episodes, sorted_demos
from imgen_core.dataset.ops import info, merge, split
from imgen_core.dataset.validate import assert_valid, validate_file
from imgen_core.dataset.writer import DatasetWriter, make_provenance

__all__ = [
    "DatasetWriter", "Episode", "EpisodeRecorder", "assert_valid", "demo_name", "file_attrs", "info",
    "make_provenance", "merge", "read_episode", "read_episodes", "sorted_demos", "split", "validate_file",
]
