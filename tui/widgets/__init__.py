"""The app's widgets: each draws arrays the engine computed; none computes science itself."""
