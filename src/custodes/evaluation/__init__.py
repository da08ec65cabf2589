"""Scoring on simulated worlds: detection against labels (``detection``) and leak attribution
(``attribution``). It sits above ``sim`` and the analytics it scores, so neither ``detect`` nor
``forensics`` depends on the simulator."""
