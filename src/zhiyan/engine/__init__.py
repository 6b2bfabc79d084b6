"""Language-model backends behind one interface (base.Engine)."""
