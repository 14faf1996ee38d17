"""``soulsyncd doctor``: the checks (``checks``), the network ones (``network``) and what they report
(``report``)."""
