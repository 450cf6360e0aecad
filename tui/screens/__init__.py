"""The app's screens: the explorer, help, and the dashboard."""
