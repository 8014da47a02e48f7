#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cmdlet_pipelines
short_description: Run structured cmdlet pipelines on a Windows host
description:
  - Runs a list of cmdlet pipelines on a Windows host and returns the selected properties of their
    output as plain JSON.
  - This is the one PowerShell module of the collection. The collection's action plugins read and
    change Windows through it; playbooks normally use those modules instead of calling it directly.
  - Each step names a cmdlet and its parameters as data. Cmdlets are looked up by name (only
    cmdlets and functions, never applications or scripts) and the parameters are splatted, so no
    value is ever evaluated as PowerShell code.
  - Some settings are writable properties of an object rather than cmdlet parameters (the
    cluster's SameSubnetDelay, a group's FailoverThreshold). A C(set_properties) step assigns them
    on every object the step before output, by name and as data, as C($object.Name = value) does.
  - Pipelines run in order and the module stops at the first error, naming the pipeline, the step
    and the cmdlet, with the cmdlet's own message, error id and error category.
  - Enumerations are returned by name, dates as ISO 8601 strings in UTC, and objects nested deeper
    than O(pipelines[].depth) as their string form.
version_added: 0.1.0
options:
  pipelines:
    description:
      - The pipelines to run, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - A label for the pipeline, used in RV(results) and in error messages.
        type: str
        required: true
      changes:
        description:
          - Whether the pipeline changes the host.
          - In check mode the module refuses to run when any pipeline changes the host, before it
            runs anything.
        type: bool
        default: false
      select:
        description:
          - The properties to return of each output object.
          - When omitted, every public property is returned.
        type: list
        elements: str
      depth:
        description:
          - How many levels of nested objects to return as maps; deeper values become strings.
        type: int
        default: 2
      steps:
        description:
          - The cmdlets of the pipeline. Each step after the first receives the output of the step
            before it on the pipeline, as C(Get-Disk -Number 1 | Set-Disk -IsOffline $false) does.
          - Each step runs to completion before the next one starts, so a step whose parameters do
            not bind fails after the steps before it have run. When a pipeline that changes the host
            fails after its first step, the result says V(changed=true).
          - A step is either a cmdlet, with O(pipelines[].steps[].cmdlet) and
            O(pipelines[].steps[].parameters), or an assignment, with
            O(pipelines[].steps[].set_properties).
        type: list
        elements: dict
        required: true
        suboptions:
          cmdlet:
            description:
              - The name of the cmdlet, for example C(Get-ClusterGroup).
              - One of O(pipelines[].steps[].cmdlet) and O(pipelines[].steps[].set_properties) is required.
            type: str
          parameters:
            description:
              - The parameters of the cmdlet, by name without the leading dash.
              - Values are strings, integers, booleans, or lists of strings or of integers. A switch
                parameter is given as V(true).
              - "A parameter that takes objects is given as C({output_of: <name>}): the output
                objects of the earlier pipeline called C(<name>) in the same call, as they are on the
                host, for example the physical disks for C(New-StoragePool -PhysicalDisks)."
            type: dict
            default: {}
          set_properties:
            description:
              - Property names and the values to assign on each object the previous step output, as
                C($object.Name = value); the objects then go on to the next step.
              - Names are letters, digits and underscores; a name the object does not have, or a
                read-only property, fails the step with the error PowerShell gives.
              - It cannot be the first step of a pipeline, and it changes the host.
              - Mutually exclusive with O(pipelines[].steps[].cmdlet).
            type: dict
attributes:
  check_mode:
    support: partial
    details: Pipelines that read run in check mode; a pipeline that changes the host is refused.
  diff_mode:
    support: none
  platform:
    platforms: windows
notes:
  - The collection's action plugins check every cmdlet and parameter they send against the cmdlet
    signatures documented by Microsoft.
  - Cmdlets that reach other nodes or Active Directory (for example C(New-Cluster)) need the
    credentials to travel to that second hop; see the collection's documentation on the double hop.
seealso:
  - module: ansible.windows.win_powershell
author:
  - pbxops engineers
"""

EXAMPLES = r"""
- name: Read the disks and the Failover Clustering feature
  pbxops.wsfc.cmdlet_pipelines:
    pipelines:
      - name: disks
        select: [Number, FriendlyName, PartitionStyle, IsOffline, Size]
        steps:
          - cmdlet: Get-Disk
      - name: feature
        select: [Name, InstallState]
        steps:
          - cmdlet: Get-WindowsFeature
            parameters:
              Name: Failover-Clustering
  register: windows_state

- name: Bring disk 1 online
  pbxops.wsfc.cmdlet_pipelines:
    pipelines:
      - name: online disk 1
        changes: true
        steps:
          - cmdlet: Get-Disk
            parameters:
              Number: 1
          - cmdlet: Set-Disk
            parameters:
              IsOffline: false

- name: Lower the heartbeat interval of the cluster
  pbxops.wsfc.cmdlet_pipelines:
    pipelines:
      - name: heartbeat
        changes: true
        steps:
          - cmdlet: Get-Cluster
          - set_properties:
              SameSubnetDelay: 2000

- name: Pool the disks that can be pooled
  pbxops.wsfc.cmdlet_pipelines:
    pipelines:
      - name: poolable disks
        steps:
          - cmdlet: Get-PhysicalDisk
            parameters:
              CanPool: true
      - name: create pool
        changes: true
        select: [FriendlyName, OperationalStatus]
        steps:
          - cmdlet: New-StoragePool
            parameters:
              FriendlyName: PBX
              StorageSubSystemFriendlyName: Windows Storage*
              PhysicalDisks:
                output_of: poolable disks
"""

RETURN = r"""
results:
  description:
    - One entry per pipeline that ran, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name of the pipeline.
      type: str
      sample: disks
    output:
      description: The output objects of the last step, converted to plain values.
      type: list
      elements: raw
      sample: [{"Number": 1, "FriendlyName": "MSFT Virtual HD", "PartitionStyle": "GPT", "IsOffline": false}]
    warnings:
      description: The messages the cmdlets wrote to the warning stream.
      type: list
      elements: str
      sample: []
pipeline:
  description: The name of the pipeline that failed.
  returned: failure in a step
  type: str
  sample: disks
step:
  description: The position (from 1) of the step that failed.
  returned: failure in a step
  type: int
  sample: 1
cmdlet:
  description: The cmdlet of the step that failed, or C(set_properties).
  returned: failure in a step
  type: str
  sample: Get-Disk
error_id:
  description: The FullyQualifiedErrorId of the error that stopped the pipeline.
  returned: failure in a step
  type: str
  sample: CmdletizationQuery_NotFound_Number,Get-Disk
error_category:
  description: The category of the error that stopped the pipeline (C($_.CategoryInfo.Category)).
  returned: failure in a step
  type: str
  sample: ObjectNotFound
"""
