"""C code generation: every file written under firmware/generated/ comes from here."""
