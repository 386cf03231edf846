"""The ModelArts provider: ShowLease / RenewLease, request signing, discovery of the notebook,
project, region and endpoint, and the credential chain. ModelArts' error codes, its 1–72 h
renewal bounds and its ``update_at`` semantics live here and nowhere else."""
