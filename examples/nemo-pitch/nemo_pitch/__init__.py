"""nemo-pitch: an example nemo plugin adding a new domain, frame-level pitch (F0) estimation.

``nemo_pitch.plugin`` registers it (import strings only); ``nemo_pitch.models`` holds ``PitchEstimatorModel``.
"""
