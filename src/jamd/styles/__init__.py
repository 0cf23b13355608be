"""jamd.styles: one data file per genre, validated by the Style model.

The model (``jamd.styles.model``, re-exported here) is pure and is all the composer needs;
reading the files is ``jamd.styles.library``'s job (``StyleLibrary``, ``load_style``), kept out of
this package's namespace so that importing the model never pulls in file handling.
"""

from jamd.styles.model import PATCHES, REGISTERS, SectionKind, Style

__all__ = ["PATCHES", "REGISTERS", "SectionKind", "Style"]
