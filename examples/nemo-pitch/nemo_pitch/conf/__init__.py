"""The YAML configs of nemo-pitch (registered as ``pkg://nemo_pitch.conf``)."""
