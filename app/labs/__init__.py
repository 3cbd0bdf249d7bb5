"""The lab: the test catalogue, doctors' lab orders, and the technician's sample queue."""
