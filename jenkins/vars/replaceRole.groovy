// replaceRole: runs `mackerel-replacer replace` for one environment and role, under a lock of that
// environment and role, with the Mackerel key bound from a Jenkins credential, and turns the exit
// code into a build result. Returns the exit code.
//
//   replaceRole(env: 'staging', role: 'web', promoteFrom: null, ami: null, dryRun: false)
//
// Staged cutover: hold: true stops once the new fleet is verified, the old one still serving
// (replace --hold); a later call with cutover: true switches the held deploy of the env and role
// that `mackerel-replacer status --json` lists (mackerel-replacer cutover <deploy-id>).
//
// A deploy that the build's abort (or a timeout) interrupts, or that exits other than 0, 2 or 3, is
// followed by `mackerel-replacer recover` of its env and role, still under the lock, before the
// build ends: recover rolls back what had not reached cutover and finishes what had, so the role is
// never left half deployed, however long the rollback takes after Jenkins stopped the tool.
// recover: true runs recover alone (it also rolls a held deploy back): the Jenkinsfile's refused
// approval after WARM_PRODUCTION.
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
  String what = "${envName}/${role}"
  int code = 0
  lock(resource: "mackerel-replacer/${envName}/${role}") {
    withCredentials([string(credentialsId: args.credentialsId ?: 'mackerel-api-key', variable: 'MACKEREL_APIKEY')]) {
      if (args.recover) {
        code = recovered(config, envName, role)
      } else {
        String script = "mackerel-replacer replace --config ${config} --env ${envName} --role ${role}${flags}"
        if (args.cutover) {
          String deployId = checked('deployId', heldDeploy(config, envName, role))
          script = "mackerel-replacer cutover ${deployId} --config ${config} --env ${envName} --role ${role}"
        }
        try {
          code = sh(returnStatus: true, label: "mackerel-replacer ${what}", script: script)
        } catch (interrupted) {
          recovered(config, envName, role)
          throw interrupted
        }
        if (!(code in [0, 2, 3])) {
          recovered(config, envName, role)
        }
      }
    }
  }
  if (args.recover) {
    if (code != 0) {
      error("mackerel-replacer recover ${what}: exit ${code}, a person must act: the log above names what is left")
    }
    return code
  }
  return judged(code, what, rolledBack)
}

// Rolls back (before cutover) or finishes (after it) the unfinished deploy of env/role, if any.
def recovered(String config, String envName, String role) {
  int code = sh(returnStatus: true, label: "mackerel-replacer recover ${envName}/${role}",
    script: "mackerel-replacer recover --config ${config} --env ${envName} --role ${role}")
  echo("mackerel-replacer recover ${envName}/${role}: " + (code == 0 ? 'nothing unfinished is left (exit 0)' : "exit ${code}, a person must act: the log above names what is left"))
  return code
}

// The exit code → build result table of jenkins/README.md. Exits 1, 4, 130 and 143 come after recover.
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
    error("mackerel-replacer ${what}: INCOMPLETE (exit 4); recover's result is above")
  } else if (code == 130 || code == 143) {
    currentBuild.result = 'ABORTED'
    error("mackerel-replacer ${what}: interrupted (exit ${code}); recover's result is above")
  } else {
    error("mackerel-replacer ${what}: unexpected exit ${code} (1 is an internal error, a bug); recover's result is above")
  }
  return code
}

// The deploy of env/role that `status --json` (an array of deploy records) lists as held.
def heldDeploy(String config, String envName, String role) {
  String listed = sh(returnStdout: true, label: 'mackerel-replacer status', script: "mackerel-replacer status --config ${config} --json")
  def held = readJSON(text: listed).find { it.env == envName && it.role == role && it.status == 'held' }
  if (!held) {
    error("replaceRole: no held deploy of ${envName}/${role} to cut over (mackerel-replacer status lists none)")
  }
  return held.deployId
}

def checked(String name, def value) {
  String text = value == null ? '' : value.toString()
  if (!(text ==~ SAFE)) {
    error("replaceRole: ${name} '${text}' must match ${SAFE}")
  }
  return text
}
