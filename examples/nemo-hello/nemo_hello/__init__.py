"""nemo-hello: an example nemo plugin. ``nemo_hello.plugin`` registers it; ``nemo_hello.models`` holds the model."""
