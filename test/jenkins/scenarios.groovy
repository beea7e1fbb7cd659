// The scenarios test/jenkins/harness.groovy runs the Jenkinsfile (or one replaceRole call) through:
//   name; params (build parameters); sh (regex of a mackerel-replacer line → [exit: N, out: '…'] or
//   [abort: true], the build aborted while that line runs; any other line exits 0); approval
//   ('approve', the default, 'refuse' or 'timeout'); call (a replaceRole call instead of the
//   pipeline); trail (the expected mackerel-replacer lines and approvals, in order); result.
// The Jenkinsfile's environment block lists one web role (web) and one worker role (worker).

String config = '--config replacer.yml'
def replace = { String env, String role, String flags = '' -> "mackerel-replacer replace ${config} --env ${env} --role ${role}${flags}" }
def promote = { String role, String flags = '' -> replace('production', role, " --promote-from staging${flags}") }
def recover = { String env, String role -> "mackerel-replacer recover ${config} --env ${env} --role ${role}" }
def approval = { List roles ->
  roles.collect { "mackerel-replacer plan ${config} --env production --role ${it} --promote-from staging" } +
    ["mackerel-replacer status ${config}", 'input']
}
def staging = [replace('staging', 'web'), replace('staging', 'worker')]
def warmed = [promote('web', ' --hold'), promote('worker', ' --hold')]
// What `status --json` lists after WARM_PRODUCTION: a held production deploy per role, among others.
def held = [sh: ['status .* --json': [out: '''[
  {"deployId": "20261204-101500-aaaa", "env": "staging", "role": "web", "status": "replaced"},
  {"deployId": "20261204-103000-bbbb", "env": "production", "role": "web", "status": "held"},
  {"deployId": "20261204-103000-cccc", "env": "production", "role": "worker", "status": "held"}
]''']]]

return [
  [name: 'ENV=staging: staging, approval, production', trail: staging + approval(['web', 'worker']) + [promote('web'), promote('worker')],
   result: 'SUCCESS'],
  [name: 'ENV=production: approval and production only', params: [ENV: 'production'],
   trail: approval(['web', 'worker']) + [promote('web'), promote('worker')], result: 'SUCCESS'],
  [name: 'ROLE=worker: that role alone', params: [ROLE: 'worker'],
   trail: [replace('staging', 'worker')] + approval(['worker']) + [promote('worker')], result: 'SUCCESS'],
  [name: 'DRY_RUN: every replace a dry run, no approval', params: [DRY_RUN: true],
   trail: [replace('staging', 'web', ' --dry-run'), replace('staging', 'worker', ' --dry-run'),
           promote('web', ' --dry-run'), promote('worker', ' --dry-run')], result: 'SUCCESS'],
  [name: 'WARM_PRODUCTION approved: production held before the approval, cut over after it', params: [WARM_PRODUCTION: true]] + held +
    [trail: staging + warmed + approval(['web', 'worker']) + [
      "mackerel-replacer status ${config} --json", "mackerel-replacer cutover 20261204-103000-bbbb ${config} --env production --role web",
      "mackerel-replacer status ${config} --json", "mackerel-replacer cutover 20261204-103000-cccc ${config} --env production --role worker"],
     result: 'SUCCESS'],
  [name: 'WARM_PRODUCTION refused: the held production deploys are recovered (rolled back)', params: [WARM_PRODUCTION: true],
   approval: 'refuse', trail: staging + warmed + approval(['web', 'worker']) + [recover('production', 'web'), recover('production', 'worker')],
   result: 'ABORTED'],
  [name: 'WARM_PRODUCTION, approval timed out: likewise', params: [WARM_PRODUCTION: true], approval: 'timeout',
   trail: staging + warmed + approval(['web', 'worker']) + [recover('production', 'web'), recover('production', 'worker')],
   result: 'ABORTED'],
  [name: 'staging web exits 3 (rolled back): failure, nothing after it, no recover', sh: ['replace .* --env staging --role web': [exit: 3]],
   trail: [replace('staging', 'web')], result: 'FAILURE'],
  [name: "replaceRole(rolledBack: 'unstable') and exit 3: unstable", call: [env: 'staging', role: 'web', rolledBack: 'unstable'],
   sh: ['replace': [exit: 3]], trail: [replace('staging', 'web')], result: 'UNSTABLE'],
  [name: 'staging web exits 2 (refused, nothing changed): failure, no recover', sh: ['replace .* --env staging --role web': [exit: 2]],
   trail: [replace('staging', 'web')], result: 'FAILURE'],
  [name: 'staging worker exits 4 (incomplete): recover it, then failure', sh: ['replace .* --env staging --role worker': [exit: 4]],
   trail: staging + [recover('staging', 'worker')], result: 'FAILURE'],
  [name: 'the build aborted during the staging web deploy: recover it, then aborted', sh: ['replace .* --env staging --role web': [abort: true]],
   trail: [replace('staging', 'web'), recover('staging', 'web')], result: 'ABORTED'],
  [name: 'an unknown ROLE: failure before any command', params: [ROLE: 'db'], trail: [], result: 'FAILURE'],
]
