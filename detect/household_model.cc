// Placeholder: the real model lands here.
