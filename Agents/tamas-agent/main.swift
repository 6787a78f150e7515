print("tamas")
