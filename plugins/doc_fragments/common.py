# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # What every module of the collection shares: it is an action plugin that reads the host in
    # one round trip through pbxops.wsfc.cmdlet_pipelines, plans on the controller, and applies.
    DOCUMENTATION = r"""
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: windows
notes:
  - This module is an action plugin. It reads the host in one round trip through
    M(pbxops.wsfc.cmdlet_pipelines), decides on the controller what to change, and sends the
    changes in at most one more round trip; RV(round_trips) counts them.
  - The cmdlets it calls on the host are those documented by Microsoft for Windows Server 2016 and
    later; the host needs the PowerShell modules that provide them.
"""

    RETURN = r"""
round_trips:
  description:
    - The number of remote calls the module made to the host.
    - A run that changes nothing usually costs one, and a run that changes the host two; the
      module's description says where it differs.
  returned: always
  type: int
  sample: 1
state:
  description:
    - The state after the task, as the host reported it.
    - In check mode, the state the task would leave.
  returned: success
  type: dict
"""
