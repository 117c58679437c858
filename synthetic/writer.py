def write_population(*a, **k): raise NotImplementedError
