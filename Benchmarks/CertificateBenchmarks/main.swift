print("certificate benchmarks: not implemented yet")
