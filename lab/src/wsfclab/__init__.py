"""wsfclab: a faithful simulator of Windows Server nodes and failover clusters."""
