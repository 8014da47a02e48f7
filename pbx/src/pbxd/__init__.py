"""pbxd: a SIP PBX built to run as a Windows Server Failover Cluster Generic Service."""
