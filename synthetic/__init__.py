"""synthetic: a seeded, realistic population of mobile subscribers with CDR, pings and travel.

>>> pop = generate(subscribers=50, days=2, seed=1)
>>> sorted(pop.tables())
['cdr', 'cells', 'pings', 'subscribers', 'travel']
>>> bool(pop.subscribers["msisdn"].is_unique)
True
"""

from .population import Population, Simulator, generate
from .writer import write_population

__all__ = ["Population", "Simulator", "generate", "write_population"]
