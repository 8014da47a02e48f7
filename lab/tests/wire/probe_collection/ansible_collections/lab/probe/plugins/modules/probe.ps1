#!powershell

# A minimal Ansible.Basic module in a throw-away collection: the wire contract tests build real
# exec payloads for it with the installed ansible-core, without needing ansible.windows.

#AnsibleRequires -CSharpUtil Ansible.Basic

$spec = @{
    options = @{
        name = @{ type = 'str'; required = $true }
        state = @{ type = 'str'; choices = 'present', 'absent'; default = 'present' }
        password = @{ type = 'str'; no_log = $true }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.ExitJson()
