print("expression benchmarks: not implemented yet")
