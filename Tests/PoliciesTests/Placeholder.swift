// Tests for Policies grow here.
