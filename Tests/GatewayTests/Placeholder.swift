// Tests for Gateway grow here.
