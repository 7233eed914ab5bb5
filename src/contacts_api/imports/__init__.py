"""CSV import (contract §10): the file read as a stream, each row checked like a create, the
rows applied in batches of set-based SQL."""
