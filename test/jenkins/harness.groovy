// Runs the Jenkinsfile and jenkins/vars/*.groovy under plain Groovy with stub pipeline steps, once per
// scenario of test/jenkins/scenarios.groovy, and compares what the pipeline did (its mackerel-replacer
// command lines and approvals, in order) and the build result with the scenario's. Whatever the
// scenario, it is also a failure when a command that changes a role (replace, cutover, recover) runs
// outside the lock of that env/role, when the tool runs without the Mackerel key bound (status
// excepted), when a shell step runs outside an agent or the approval waits on one.
// Usage (from the repository root): groovy test/jenkins/harness.groovy; exits 1 when any scenario fails.
import groovy.json.JsonSlurper
import org.codehaus.groovy.runtime.InvokerHelper
import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

/** The Jenkinsfile's `@Library('…') _`: Jenkins loads the library, here the vars are bound below. */
@Retention(RetentionPolicy.SOURCE) @interface Library { String value() }

/** What Jenkins throws into the running step on an abort, a refused input or an expired timeout. */
class FlowInterruptedException extends RuntimeException {
  FlowInterruptedException(String why) { super(why) }
}

/** error(…): the build fails. */
class PipelineError extends RuntimeException {
  PipelineError(String message) { super(message) }
}

/** currentBuild: its result only ever gets worse, as in Jenkins. */
class Build {
  static final List<String> ORDER = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'ABORTED']
  String result = 'SUCCESS'
  void setResult(String next) { if (ORDER.indexOf(next) > ORDER.indexOf(result)) result = next }
}

// The declarative sections, recorded as pipeline { … } declares them (DELEGATE_FIRST, so `timeout`
// in options is the option and `string` in parameters the parameter, not the steps of those names).
class Dsl {
  static <T> T record(T into, Closure body) {
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.delegate = into
    body()
    return into
  }
}

class PipelineDsl {
  Map declared = [agent: null, params: [:], environment: [:], stages: [], post: [:]]
  String getAny() { 'any' }
  String getNone() { 'none' }
  void agent(def where) { declared.agent = where }
  void options(Closure body) { Dsl.record(new OptionsDsl(), body) }
  void parameters(Closure body) { declared.params = Dsl.record(new ParametersDsl(), body).defaults }
  void environment(Closure body) { Dsl.record(declared.environment, body) }
  void stages(Closure body) { declared.stages = Dsl.record(new StagesDsl(), body).list }
  void post(Closure body) { declared.post = Dsl.record(new PostDsl(), body).conditions }
}

class OptionsDsl {
  def methodMissing(String name, def args) { null }
}

class ParametersDsl {
  Map defaults = [:]
  void choice(Map p) { defaults[p.name] = p.choices[0] }
  void string(Map p) { defaults[p.name] = p.defaultValue }
  void booleanParam(Map p) { defaults[p.name] = p.defaultValue }
}

class StagesDsl {
  List list = []
  void stage(String name, Closure body) { list << Dsl.record(new StageDsl(stageName: name), body) }
}

class StageDsl {
  String stageName
  def stageAgent
  WhenDsl stageWhen
  Closure stageSteps
  Map stagePost = [:]
  String getAny() { 'any' }
  String getNone() { 'none' }
  void agent(def where) { stageAgent = where }
  void when(Closure body) { stageWhen = Dsl.record(new WhenDsl(), body) }
  void options(Closure body) { Dsl.record(new OptionsDsl(), body) }
  void steps(Closure body) { stageSteps = body }
  void post(Closure body) { stagePost = Dsl.record(new PostDsl(), body).conditions }
}

class WhenDsl {
  List<Closure> conditions = []
  void expression(Closure test) { conditions << test }
  void not(Closure body) { WhenDsl inner = Dsl.record(new WhenDsl(), body); conditions << { !inner.holds() } }
  void allOf(Closure body) { WhenDsl inner = Dsl.record(new WhenDsl(), body); conditions << { inner.holds() } }
  void anyOf(Closure body) { WhenDsl inner = Dsl.record(new WhenDsl(), body); conditions << { inner.conditions.any { it() } } }
  boolean holds() { conditions.every { it() } }
}

class PostDsl {
  Map conditions = [:]
  void always(Closure body) { conditions.always = body }
  void success(Closure body) { conditions.success = body }
  void unstable(Closure body) { conditions.unstable = body }
  void failure(Closure body) { conditions.failure = body }
  void aborted(Closure body) { conditions.aborted = body }
  void cleanup(Closure body) { conditions.cleanup = body }
}

/** The pipeline steps, one scenario's worth of state: what ran, what was wrong, the build. */
class Steps {
  static final List<String> STEPS = ['sh', 'lock', 'withCredentials', 'string', 'withEnv', 'node', 'checkout', 'stash',
    'unstash', 'parallel', 'timeout', 'milestone', 'input', 'error', 'unstable', 'echo', 'readFile', 'writeFile',
    'readJSON', 'archiveArtifacts', 'junit', 'catchError', 'script', 'pipeline']
  Map scenario
  Build build = new Build()
  List<String> trail = []
  List<String> violations = []
  List<String> console = []
  Map env = [:]
  Map params = [:]
  Map files = [:]
  Set<String> locks = []
  Set<String> stashes = []
  int agents = 0
  Map declared

  Binding binding() {
    Map variables = STEPS.collectEntries { [it, this.&"$it"] }
    return new Binding(variables + [env: env, params: params, currentBuild: build, scm: 'scm'])
  }

  void pipeline(Closure body) { declared = Dsl.record(new PipelineDsl(), body).declared }

  // The tool's command line in a shell step: from `mackerel-replacer` to the first redirection or operator.
  static String toolLine(String script) {
    def found = script =~ /mackerel-replacer [^;&|>\n]*/
    return found ? found[0].replaceAll(/\s+\d?$/, '').trim() : null
  }

  def sh(def arg) {
    Map step = arg instanceof Map ? arg : [script: arg]
    if (!agents) violations << "sh outside any agent: ${step.script}"
    String line = toolLine(step.script)
    Map answer = [exit: 0, out: '']
    if (line) {
      trail << line
      checkTool(line)
      answer += scenario.sh?.find { pattern, reply -> line =~ pattern }?.value ?: [:]
      if (answer.abort) throw new FlowInterruptedException("build aborted during: ${line}")
      def written = step.script =~ /> (\S+)/
      if (written) files[written[0][1]] = answer.out
    }
    if (step.returnStatus) return answer.exit
    if (answer.exit) throw new PipelineError("script returned exit code ${answer.exit}")
    return step.returnStdout ? answer.out : null
  }

  void checkTool(String line) {
    def command = (line =~ /^mackerel-replacer (\S+)/)[0][1]
    if (command != 'status' && !env.MACKEREL_APIKEY) violations << "no Mackerel key bound: ${line}"
    if (!(command in ['replace', 'cutover', 'recover'])) return
    def envName = line =~ /--env (\S+)/
    def role = line =~ /--role (\S+)/
    String lock = "mackerel-replacer/${envName ? envName[0][1] : '?'}/${role ? role[0][1] : '?'}"
    if (!(lock in locks)) violations << "not under lock ${lock}: ${line}"
  }

  def lock(Map options, Closure body) {
    String name = options.resource
    if (name in locks) violations << "lock ${name} taken inside itself: a deadlock in Jenkins"
    locks << name
    try { return body() } finally { locks.remove(name) }
  }

  def withCredentials(List bindings, Closure body) { withEnv(bindings.collect { "${it.variable}=****" }, body) }

  Map string(Map binding) { binding }

  def withEnv(List pairs, Closure body) {
    Map before = new HashMap(env)
    pairs*.toString().each { String pair -> env[pair.substring(0, pair.indexOf('='))] = pair.substring(pair.indexOf('=') + 1) }
    try { return body() } finally { env.clear(); env.putAll(before) }
  }

  def node(Closure body) {
    agents++
    env.WORKSPACE = '/agent/workspace/deploy'
    try { return body() } finally { if (--agents == 0) env.remove('WORKSPACE') }
  }

  void checkout(def scm) {}

  void stash(Map options) { stashes << options.name }

  void unstash(String name) { if (!(name in stashes)) throw new PipelineError("no such saved stash ‘${name}’") }

  def parallel(Map branches) {
    Throwable first = null
    branches.each { name, body ->
      try { body() } catch (Throwable failed) { first = first ?: failed }
    }
    if (first) throw first
  }

  def timeout(Map options, Closure body) { body() }

  def script(Closure body) { body() }

  void milestone(Map options) {}

  def input(Map options) {
    if (agents) violations << 'the approval waits holding an agent'
    trail << 'input'
    if (scenario.approval in ['refuse', 'timeout']) throw new FlowInterruptedException("input: ${scenario.approval}")
  }

  void error(String message) { throw new PipelineError(message) }

  void unstable(String message) {
    console << "UNSTABLE: ${message}"
    build.result = 'UNSTABLE'
  }

  void echo(String message) { console << message }

  String readFile(String path) {
    if (!files.containsKey(path)) throw new PipelineError("readFile: no file ${path}")
    return files[path]
  }

  void writeFile(Map options) { files[options.file] = options.text }

  def readJSON(Map options) { new JsonSlurper().parseText(options.containsKey('text') ? options.text : readFile(options.file)) }

  void archiveArtifacts(Map options) {}

  void junit(Map options) {}

  def catchError(Map options, Closure body) {
    try { body() } catch (Throwable caught) {
      console << "caught: ${caught.message}"
      build.result = caught instanceof FlowInterruptedException ? 'ABORTED' : (options.buildResult ?: 'FAILURE')
    }
  }

  // Declarative: stages in order, skipped by `when` or after a failure; then the post conditions.
  void runPipeline() {
    env.putAll(declared.environment)
    params.putAll(declared.params + (scenario.params ?: [:]))
    Closure stages = {
      boolean failed = false
      for (def stage in declared.stages) {
        if (failed || (stage.stageWhen && !stage.stageWhen.holds())) continue
        failed = !ran(stage.stageAgent, stage.stageSteps)
        runPost(stage.stagePost)
      }
    }
    ran(declared.agent, stages)
    runPost(declared.post)
  }

  boolean ran(def agent, Closure body) {
    try {
      agent && agent != 'none' ? node(body) : body()
      return true
    } catch (FlowInterruptedException interrupted) {
      console << "ABORTED: ${interrupted.message}"
      build.result = 'ABORTED'
    } catch (PipelineError failed) {
      console << "ERROR: ${failed.message}"
      build.result = 'FAILURE'
    }
    return false
  }

  void runPost(Map conditions) {
    String result = build.result
    Map when = [always: true, success: result == 'SUCCESS', unstable: result == 'UNSTABLE', failure: result == 'FAILURE',
                aborted: result == 'ABORTED', cleanup: true]
    when.each { condition, holds -> if (holds && conditions[condition]) ran(null, conditions[condition]) }
  }
}

// Compiled once; each scenario runs fresh instances bound to its own steps.
GroovyClassLoader loader = new GroovyClassLoader(this.class.classLoader)
Class jenkinsfile = loader.parseClass(new File('Jenkinsfile'))
Map<String, Class> vars = new File('jenkins/vars').listFiles().findAll { it.name.endsWith('.groovy') }
  .collectEntries { [(it.name - '.groovy'): loader.parseClass(it)] }

/** One scenario: the Jenkinsfile's pipeline, or one replaceRole call on an agent. Returns what went wrong. */
List<String> check(Map scenario, Class jenkinsfile, Map<String, Class> vars) {
  Steps steps = new Steps(scenario: scenario)
  Binding binding = steps.binding()
  vars.each { String name, Class type ->
    Script step = InvokerHelper.createScript(type, binding)
    binding.setVariable(name, { Object[] args -> step.invokeMethod('call', args) })
  }
  if (scenario.call) {
    steps.ran('any', { binding.getVariable('replaceRole').call(scenario.call) })
  } else {
    InvokerHelper.createScript(jenkinsfile, binding).run()
    steps.runPipeline()
  }
  List<String> wrong = steps.violations.collect()
  if (steps.trail != scenario.trail*.toString()) {
    wrong << "expected:\n    ${scenario.trail.join('\n    ')}\n  ran:\n    ${steps.trail.join('\n    ')}"
  }
  if (steps.build.result != scenario.result) wrong << "result ${steps.build.result}, expected ${scenario.result}"
  if (wrong) wrong << "console:\n    ${steps.console.join('\n    ')}"
  return wrong
}

List<Map> scenarios = new GroovyShell().evaluate(new File('test/jenkins/scenarios.groovy'))
int failures = 0
for (Map scenario in scenarios) {
  List<String> wrong
  try {
    wrong = check(scenario, jenkinsfile, vars)
  } catch (Throwable crashed) {
    wrong = ["the harness could not run it: ${crashed}"]
  }
  println "${wrong ? 'FAIL' : 'ok  '} ${scenario.name}"
  wrong.each { println "  ${it}" }
  failures += wrong ? 1 : 0
}
println "pipeline scenarios: ${scenarios.size() - failures} of ${scenarios.size()} as expected, ${failures} not"
System.exit(failures ? 1 : 0)
