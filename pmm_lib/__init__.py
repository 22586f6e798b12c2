"""PMM Workbench: methodology tools for the WCO Performance Measurement Mechanism."""

__version__ = "0.1.0"
