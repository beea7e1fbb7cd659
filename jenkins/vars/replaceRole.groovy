// replaceRole: runs `mackerel-replacer replace` for one environment and role, under a lock of that
// environment and role, with the Mackerel key bound from a Jenkins credential, and turns the exit
// code into a build result. Returns the exit code.
//
//   replaceRole(env: 'staging', role: 'web', promoteFrom: null, ami: null, dryRun: false)
//
// Staged cutover: hold: true stops once the new fleet is verified, the old one still serving
// (replace --hold); a later call with cutover: true switches the held deploy of the env and role
// that `mackerel-replacer status` lists (mackerel-replacer cutover <deploy-id>).
//
// Optional: vars (list of 'name=value', one --var each), config (default 'replacer.yml'),
// rolledBack ('failure', the default, or 'unstable': the build result for exit 3),
// credentialsId (default 'mackerel-api-key'). Values go into a shell line, so each must match
// SAFE below; anything else stops the build before the tool runs.

import groovy.transform.Field

@Field final String SAFE = '[A-Za-z0-9._:/@+=,-]+'

def call(Map args) {
  String envName = checked('env', args.env)
  String role = checked('role', args.role)
  String config = checked('config', args.config ?: 'replacer.yml')
  String flags = ''
  if (args.promoteFrom) {
    flags += " --promote-from ${checked('promoteFrom', args.promoteFrom)}"
  }
  if (args.ami) {
    flags += " --ami ${checked('ami', args.ami)}"
  }
  for (def pair in (args.vars ?: [])) {
    flags += " --var ${checked('vars', pair)}"
  }
  if (args.dryRun) {
    flags += ' --dry-run'
  }
  if (args.hold) {
    flags += ' --hold'
  }
  String rolledBack = args.rolledBack ?: 'failure'
  if (rolledBack != 'failure' && rolledBack != 'unstable') {
    error("replaceRole: rolledBack must be 'failure' or 'unstable', not '${rolledBack}'")
  }
  int code = 0
  lock(resource: "mackerel-replacer/${envName}/${role}") {
    withCredentials([string(credentialsId: args.credentialsId ?: 'mackerel-api-key', variable: 'MACKEREL_APIKEY')]) {
      if (args.cutover) {
        String deployId = checked('deployId', heldDeploy(config, envName, role))
        code = sh(returnStatus: true, label: "mackerel-replacer cutover ${envName}/${role}",
          script: "mackerel-replacer cutover ${deployId} --config ${config}")
      } else {
        code = sh(returnStatus: true, label: "mackerel-replacer ${envName}/${role}",
          script: "mackerel-replacer replace --config ${config} --env ${envName} --role ${role}${flags}")
      }
    }
  }
  return judged(code, "${envName}/${role}", rolledBack)
}

// The exit code → build result table of jenkins/README.md.
def judged(int code, String what, String rolledBack) {
  if (code == 0) {
    echo("mackerel-replacer ${what}: done (exit 0)")
  } else if (code == 2) {
    error("mackerel-replacer ${what}: refused, nothing changed (exit 2): fix the config, the parameters or the permissions named above")
  } else if (code == 3) {
    String message = "mackerel-replacer ${what}: the deploy failed and was rolled back; the old fleet serves as before (exit 3)"
    if (rolledBack == 'unstable') {
      unstable(message)
    } else {
      error(message)
    }
  } else if (code == 4) {
    error("mackerel-replacer ${what}: INCOMPLETE, a person must act (exit 4): the log above names what is left and the command that finishes it (mackerel-replacer resume <deploy-id> or mackerel-replacer rollback <deploy-id>)")
  } else if (code == 130 || code == 143) {
    currentBuild.result = 'ABORTED'
    error("mackerel-replacer ${what}: interrupted (exit ${code}) after the rollback it could do; run mackerel-replacer status to see what is left")
  } else {
    error("mackerel-replacer ${what}: unexpected exit ${code} (1 is an internal error, a bug): run mackerel-replacer status before anything else")
  }
  return code
}

// The deploy of env/role that status lists as held (its line: "<deploy-id>  <env>/<role>  held at …").
def heldDeploy(String config, String envName, String role) {
  sh(script: "mkdir -p deploy-logs; mackerel-replacer status --config ${config} > deploy-logs/status-${envName}-${role}.txt")
  String line = readFile("deploy-logs/status-${envName}-${role}.txt").readLines().find { it.contains(" ${envName}/${role}  held at ") }
  if (!line) {
    error("replaceRole: no held deploy of ${envName}/${role} to cut over (mackerel-replacer status lists none)")
  }
  return line.tokenize(' ')[0]
}

def checked(String name, def value) {
  String text = value == null ? '' : value.toString()
  if (!(text ==~ SAFE)) {
    error("replaceRole: ${name} '${text}' must match ${SAFE}")
  }
  return text
}
