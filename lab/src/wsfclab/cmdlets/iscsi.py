"""The iSCSI initiator cmdlets: portals, targets, sessions. They need the MSiSCSI service running."""

from __future__ import annotations

from wsfclab import iscsi
from wsfclab.cmdlets.base import Call, CimObject, cmdlet, filter_by
from wsfclab.errors import ErrorCategory
from wsfclab.state import IscsiPortal, IscsiSession, IscsiTargetState

AUTH_TYPES = ("NONE", "ONEWAYCHAP", "MUTUALCHAP")
INITIATOR_INSTANCE = "ROOT\\ISCSIPRT\\0000_0"
# The iSCSI provider's errors read "NotSpecified: (MSFT_iSCSITarget:ROOT/Microsoft/Windows/Storage/
# MSFT_iSCSITarget) [Connect-IscsiTarget], CimException": the target names the CIM class.
NOT_SPECIFIED = ErrorCategory.NotSpecified
PORTAL = "MSFT_iSCSITargetPortal"
TARGET = "MSFT_iSCSITarget"


def _require_service(call: Call) -> None:
    service = call.node.services.get("MSiSCSI")
    if service is None or service.state != "Running":
        raise call.fail(
            "The service has not been started.", "HRESULT 0x80070426", NOT_SPECIFIED, target=PORTAL
        )


def _auth_type(call: Call) -> str:
    value = call.get("AuthenticationType", "NONE")
    if value not in AUTH_TYPES:  # the provider compares case-sensitively
        raise call.fail(
            "Invalid parameter ", "HRESULT 0x80041008", ErrorCategory.InvalidArgument, target=PORTAL
        )
    return str(value)


def portal_object(call: Call, portal: IscsiPortal) -> CimObject:
    return CimObject(
        "MSFT_iSCSITargetPortal",
        {
            "InitiatorInstanceName": None if portal.initiator_portal_address is None else INITIATOR_INSTANCE,
            "InitiatorPortalAddress": portal.initiator_portal_address,
            "IsDataDigest": portal.is_data_digest,
            "IsHeaderDigest": portal.is_header_digest,
            "TargetPortalAddress": portal.address,
            "TargetPortalPortNumber": portal.port,
        },
        ref=f"{portal.address}:{portal.port}",
    )


@cmdlet("New-IscsiTargetPortal", changes=True)
def new_iscsi_target_portal(call: Call) -> list[CimObject]:
    _require_service(call)
    address = str(call.get("TargetPortalAddress"))
    port = int(call.get("TargetPortalPortNumber", 3260))
    auth = _auth_type(call)
    existing = next((p for p in call.node.iscsi_portals if p.address == address and p.port == port), None)
    if existing is not None:
        return [portal_object(call, existing)]
    if not any(
        t.portal_address == address and t.portal_port == port for t in call.state.iscsi_targets.values()
    ):
        # Nothing answers on that address: discovery fails (ISDSC_CONNECTION_FAILED).
        raise call.fail(
            "The target portal could not be connected.", "HRESULT 0xefff0003", NOT_SPECIFIED, target=PORTAL
        )
    portal = IscsiPortal(
        address=address,
        port=port,
        initiator_portal_address=call.get("InitiatorPortalAddress"),
        authentication_type=auth,
        is_header_digest=bool(call.get("IsHeaderDigest", False)),
        is_data_digest=bool(call.get("IsDataDigest", False)),
    )
    call.node.iscsi_portals.append(portal)
    return [portal_object(call, portal)]


@cmdlet(
    "Get-IscsiTargetPortal",
    inputs={"MSFT_iSCSITarget": "iSCSITarget", "MSFT_iSCSISession": "iSCSISession"},
)
def get_iscsi_target_portal(call: Call) -> list[CimObject]:
    _require_service(call)
    portals = [portal_object(call, p) for p in call.node.iscsi_portals]
    if call.input is not None:
        iqn = str(call.input.ref)
        target = call.state.iscsi_targets[iqn]
        return [p for p in portals if p.ref == f"{target.portal_address}:{target.portal_port}"]
    portals = filter_by(call, portals, "TargetPortalAddress", "TargetPortalAddress", "MSFT_iSCSITargetPortal")
    return filter_by(
        call,
        portals,
        "TargetPortalPortNumber",
        "TargetPortalPortNumber",
        "MSFT_iSCSITargetPortal",
        wildcards=False,
    )


def target_object(call: Call, target: IscsiTargetState) -> CimObject:
    return CimObject(
        "MSFT_iSCSITarget",
        {
            "IsConnected": bool(iscsi.sessions_to(call.state, call.node.name, target.iqn)),
            "NodeAddress": target.iqn,
        },
        ref=target.iqn,
    )


@cmdlet(
    "Get-IscsiTarget",
    inputs={"MSFT_iSCSITargetPortal": "IscsiTargetPortal", "MSFT_iSCSISession": "IscsiSession"},
)
def get_iscsi_target(call: Call) -> list[CimObject]:
    _require_service(call)
    targets = iscsi.discovered_targets(call.state, call.node.name)
    if call.input is not None and call.input.class_name == "MSFT_iSCSITargetPortal":
        targets = [t for t in targets if f"{t.portal_address}:{t.portal_port}" == call.input.ref]
    elif call.input is not None:
        session = _session_by_id(call, str(call.input.ref))
        targets = [t for t in targets if session is not None and t.iqn == session.target_iqn]
    objects = [target_object(call, t) for t in targets]
    return filter_by(call, objects, "NodeAddress", "NodeAddress", "MSFT_iSCSITarget")


def session_object(call: Call, session: IscsiSession) -> CimObject:
    return CimObject(
        "MSFT_iSCSISession",
        {
            "AuthenticationType": session.authentication_type,
            "InitiatorInstanceName": INITIATOR_INSTANCE,
            "InitiatorNodeAddress": call.node.initiator_iqn,
            "InitiatorPortalAddress": session.initiator_portal_address or "0.0.0.0",  # noqa: S104 - what Windows shows for "any"
            "InitiatorSideIdentifier": "400001370000",
            "IsConnected": True,
            "IsDataDigest": False,
            "IsDiscovered": True,
            "IsHeaderDigest": False,
            "IsPersistent": session.is_persistent,
            "NumberOfConnections": 1,
            "SessionIdentifier": session.session_id,
            "TargetNodeAddress": session.target_iqn,
            "TargetSideIdentifier": "0100",
        },
        ref=session.session_id,
    )


def _session_by_id(call: Call, session_id: str) -> IscsiSession | None:
    return next((s for s in call.node.iscsi_sessions if s.session_id == session_id), None)


@cmdlet("Connect-IscsiTarget", inputs={"MSFT_iSCSITarget": "InputObject"}, changes=True)
def connect_iscsi_target(call: Call) -> list[CimObject]:
    _require_service(call)
    iqn = str(call.input.ref if call.input is not None else call.get("NodeAddress")).lower()
    discovered = {t.iqn: t for t in iscsi.discovered_targets(call.state, call.node.name)}
    target = discovered.get(iqn)
    if target is None:
        raise call.fail(
            "The target name is not found or is marked as hidden from login.",
            "HRESULT 0xefff0029",
            NOT_SPECIFIED,
            target=TARGET,
        )
    portal_address = call.get("TargetPortalAddress")
    if portal_address is not None and portal_address != target.portal_address:
        raise call.fail(
            "The target name is not found or is marked as hidden from login.",
            "HRESULT 0xefff0029",
            NOT_SPECIFIED,
            target=TARGET,
        )
    multipath = bool(call.get("IsMultipathEnabled", False))
    if iscsi.sessions_to(call.state, call.node.name, iqn) and not multipath:
        raise call.fail(
            "The target has already been logged in via an iSCSI session.",
            "HRESULT 0xefff003f",
            NOT_SPECIFIED,
            target=TARGET,
        )
    session = IscsiSession(
        session_id=f"ffffe00{call.state.next_id():09x}-4000013700000002",
        target_iqn=iqn,
        target_portal_address=target.portal_address,
        target_portal_port=target.portal_port,
        initiator_portal_address=call.get("InitiatorPortalAddress"),
        is_persistent=bool(call.get("IsPersistent", False)),
        is_multipath_enabled=multipath,
        authentication_type=_auth_type(call),
    )
    iscsi.login(call.state, call.node.name, session)
    return [session_object(call, session)]


@cmdlet("Get-IscsiSession", inputs={"MSFT_iSCSITarget": "IscsiTarget", "MSFT_Disk": "Disk"})
def get_iscsi_session(call: Call) -> list[CimObject]:
    _require_service(call)
    sessions = list(call.node.iscsi_sessions)
    if call.input is not None and call.input.class_name == "MSFT_iSCSITarget":
        sessions = [s for s in sessions if s.target_iqn == call.input.ref]
    elif call.input is not None:
        disk = call.state.disks[str(call.input.ref)]
        sessions = [s for s in sessions if s.target_iqn == disk.target_iqn]
    objects = [session_object(call, s) for s in sessions]
    return filter_by(call, objects, "SessionIdentifier", "SessionIdentifier", "MSFT_iSCSISession")


@cmdlet(
    "Disconnect-IscsiTarget",
    inputs={"MSFT_iSCSITarget": "InputObject", "MSFT_iSCSISession": "InputObject"},
    changes=True,
)
def disconnect_iscsi_target(call: Call) -> list[CimObject]:
    _require_service(call)
    sessions = list(call.node.iscsi_sessions)
    if call.input is not None and call.input.class_name == "MSFT_iSCSISession":
        sessions = [s for s in sessions if s.session_id == call.input.ref]
    elif call.input is not None:
        sessions = [s for s in sessions if s.target_iqn == call.input.ref]
    addresses = call.as_list("NodeAddress")
    if addresses is not None:
        wanted = {str(a).lower() for a in addresses}
        sessions = [s for s in sessions if s.target_iqn in wanted]
    if call.get("SessionIdentifier") is not None:
        sessions = [s for s in sessions if s.session_id == call.get("SessionIdentifier")]
    if not sessions:
        raise call.fail("The session does not exist.", "HRESULT 0xefff001c", NOT_SPECIFIED, target=TARGET)
    for session in sessions:
        iscsi.logout(call.state, call.node.name, session)
    if call.get("PassThru"):
        return [target_object(call, call.state.iscsi_targets[s.target_iqn]) for s in sessions]
    return []
