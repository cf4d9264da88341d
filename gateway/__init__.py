"""lac-gateway: an activation gateway in front of X-Formation's License Activation Center."""

__version__ = "0.1.0"
