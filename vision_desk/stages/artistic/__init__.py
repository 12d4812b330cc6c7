"""Artistic stages: colorization of black-and-white video and neural style transfer."""
