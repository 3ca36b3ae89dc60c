"""REST API v1, one module per resource. Lists and details go through the same access gate as
the pages (what a user may not see answers 404); workflow actions are explicit POST endpoints
that call the same domain functions as the pages, which refuse (403) what the user may not do
and explain (400) what the rules do not allow, in Chinese."""
