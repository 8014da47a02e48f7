"""The Windows wire: what ansible-core sends a Windows host, decoded without importing ansible.

`cmdline` decodes PowerShell -EncodedCommand lines, `snippets` recognises the fixed scripts
(shell snippets, bootstrap wrapper, win_reboot's commands) and `payload` decodes the exec manifest
of a module run. The formats are private to ansible-core; lab/tests/wire pins them per version.
"""
