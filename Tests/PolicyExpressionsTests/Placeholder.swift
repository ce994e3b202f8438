// Tests for PolicyExpressions grow here.
