"""The tray front end: pystray, Pillow and tkinter. The only layer that imports them."""
