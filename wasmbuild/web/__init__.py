"""The browser side of wasmbuild: what the web folder holds and how it is served."""
