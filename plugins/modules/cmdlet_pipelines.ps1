#!powershell

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The only PowerShell pbxops ships. It runs structured cmdlet pipelines sent by the collection's
# action plugins: cmdlets are looked up by name, parameter values are splatted, properties are
# assigned by checked name, and no text sent by the controller is ever evaluated as script.

#AnsibleRequires -CSharpUtil Ansible.Basic

$spec = @{
    options = @{
        pipelines = @{
            type = 'list'
            elements = 'dict'
            required = $true
            options = @{
                name = @{ type = 'str'; required = $true }
                changes = @{ type = 'bool'; default = $false }
                select = @{ type = 'list'; elements = 'str' }
                depth = @{ type = 'int'; default = 2 }
                steps = @{
                    type = 'list'
                    elements = 'dict'
                    required = $true
                    options = @{
                        cmdlet = @{ type = 'str' }
                        parameters = @{ type = 'dict'; default = @{} }
                        set_properties = @{ type = 'dict' }
                    }
                    mutually_exclusive = @(, @('cmdlet', 'set_properties'))
                    required_one_of = @(, @('cmdlet', 'set_properties'))
                }
            }
        }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

# Properties PowerShell adds to every CIM object; they describe the class, not the object.
$cimBookkeeping = @('CimClass', 'CimInstanceProperties', 'CimSystemProperties', 'PSComputerName')

# Turn any output value into something ConvertTo-Json renders the same way on every host:
# enums by name, dates in ISO 8601 (UTC), collections as arrays, and objects as property maps
# while $Depth (the object levels still to render, this one included) lasts; deeper objects
# become their string form. Collections are not a level of their own.
function ConvertTo-SafeValue {
    param($Value, [int]$Depth)

    if ($null -eq $Value) { return $null }
    if ($Value -is [enum]) { return $Value.ToString() }
    if ($Value -is [datetime]) { return $Value.ToUniversalTime().ToString('o') }
    if ($Value -is [string] -or $Value -is [char] -or $Value -is [guid] -or $Value -is [timespan]) {
        return $Value.ToString()
    }
    if ($Value.GetType().IsPrimitive -or $Value -is [decimal]) { return $Value }
    if ($Value -is [System.Collections.IEnumerable] -and $Value -isnot [System.Collections.IDictionary]) {
        return , @(foreach ($item in $Value) { ConvertTo-SafeValue -Value $item -Depth $Depth })
    }
    if ($Depth -le 0) { return $Value.ToString() }
    $map = [ordered]@{}
    if ($Value -is [System.Collections.IDictionary]) {
        foreach ($key in $Value.Keys) { $map["$key"] = ConvertTo-SafeValue -Value $Value[$key] -Depth ($Depth - 1) }
        return $map
    }
    foreach ($property in $Value.PSObject.Properties) {
        if ($property.Name -in $cimBookkeeping) { continue }
        $map[$property.Name] = ConvertTo-SafeValue -Value $property.Value -Depth ($Depth - 1)
    }
    return $map
}

# One output object: always a map of the selected properties (all of them when nothing is
# selected), whose values are the first level that $Depth counts.
function ConvertTo-SafeObject {
    param($Object, [string[]]$Select, [int]$Depth)

    if ($null -eq $Object -or -not $Select) { return ConvertTo-SafeValue -Value $Object -Depth ($Depth + 1) }
    $map = [ordered]@{}
    foreach ($name in $Select) { $map[$name] = ConvertTo-SafeValue -Value $Object.$name -Depth $Depth }
    return $map
}

$module.Result.results = @()
# The raw output objects of each pipeline that ran, for parameters given as @{ output_of = 'name' }.
$outputs = @{}

# Refuse before anything runs: a pipeline without steps or that starts by assigning properties
# (there is nothing to assign to), and in check mode any pipeline that would change the host.
foreach ($pipeline in $module.Params.pipelines) {
    if ($pipeline.steps.Count -eq 0) {
        $module.Result.pipeline = $pipeline.name
        $module.FailJson("pipeline '$($pipeline.name)' has no steps; give it at least one")
    }
    if ($null -ne $pipeline.steps[0].set_properties) {
        $module.Result.pipeline = $pipeline.name
        $module.FailJson("pipeline '$($pipeline.name)' starts with set_properties; a cmdlet must output the objects first")
    }
    if ($pipeline.changes -and $module.CheckMode) {
        $module.Result.pipeline = $pipeline.name
        $module.FailJson("pipeline '$($pipeline.name)' changes the host and cannot run in check mode")
    }
}

foreach ($pipeline in $module.Params.pipelines) {
    $output = $null
    $warnings = @()
    for ($index = 0; $index -lt $pipeline.steps.Count; $index++) {
        $step = $pipeline.steps[$index]
        $label = if ($null -ne $step.set_properties) { 'set_properties' } else { $step.cmdlet }
        $failure = "pipeline '$($pipeline.name)' failed at step $($index + 1) ($label)"
        $module.Result.pipeline = $pipeline.name
        $module.Result.step = $index + 1
        $module.Result.cmdlet = $label
        try {
            if ($null -ne $step.set_properties) {
                # $object.$name = value on every object, which then goes on unchanged. Every name
                # is checked before anything is assigned, and values are data: neither is script.
                foreach ($name in $step.set_properties.Keys) {
                    if ($name -notmatch '^[A-Za-z_][A-Za-z0-9_]*\z') { throw "'$name' is not a property name" }
                }
                foreach ($object in $output) {
                    foreach ($entry in $step.set_properties.GetEnumerator()) {
                        $name = $entry.Key
                        $object.$name = $entry.Value
                    }
                }
            }
            else {
                # Get-Command expands wildcards and module-qualified names: a plain Verb-Noun only.
                if ($step.cmdlet -notmatch '^[A-Za-z]+-[A-Za-z0-9]+\z') {
                    throw "'$($step.cmdlet)' is not a Verb-Noun cmdlet name"
                }
                # Only cmdlets and functions: never an application, a script file or an alias.
                $command = Get-Command -Name $step.cmdlet -CommandType Cmdlet, Function -ErrorAction Stop
                $parameters = @{}
                foreach ($entry in $step.parameters.GetEnumerator()) {
                    $value = $entry.Value
                    if ($value -is [System.Collections.IDictionary] -and $value.Contains('output_of')) {
                        if (-not $outputs.ContainsKey($value.output_of)) {
                            throw "parameter -$($entry.Key) refers to the output of '$($value.output_of)', which is not an earlier pipeline of this call"
                        }
                        $value = $outputs[$value.output_of]
                    }
                    $parameters[$entry.Key] = $value
                }
                $stepWarnings = $null
                if ($index -eq 0) {
                    $output = @(& $command @parameters -ErrorAction Stop -WarningVariable stepWarnings 3>$null)
                }
                else {
                    $output = @($output | & $command @parameters -ErrorAction Stop -WarningVariable stepWarnings 3>$null)
                }
                $warnings += @($stepWarnings | ForEach-Object { $_.Message })
            }
        }
        catch {
            # The steps before this one ran: a changing pipeline may have changed the host.
            if ($pipeline.changes -and $index -gt 0) { $module.Result.changed = $true }
            $module.Result.error_id = $_.FullyQualifiedErrorId
            $module.Result.error_category = $_.CategoryInfo.Category.ToString()
            $module.FailJson("${failure}: $($_.Exception.Message)", $_)
        }
    }
    if ($pipeline.changes) { $module.Result.changed = $true }
    $outputs[$pipeline.name] = $output
    $converted = @(foreach ($object in $output) {
            ConvertTo-SafeObject -Object $object -Select $pipeline.select -Depth $pipeline.depth
        })
    $module.Result.results += , @{ name = $pipeline.name; output = $converted; warnings = $warnings }
}

$module.Result.Remove('pipeline')
$module.Result.Remove('step')
$module.Result.Remove('cmdlet')
$module.ExitJson()
