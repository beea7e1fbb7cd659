// Parses each Groovy file named on the command line (Jenkinsfile, jenkins/vars/*.groovy) to the
// CONVERSION phase: syntax only, no class resolution, so pipeline steps need no stubs. Prints
// FILE:LINE:COLUMN: message for each syntax error; exits 1 when any file has one.
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.messages.SyntaxErrorMessage

int failed = 0
for (String path in args) {
  def unit = new CompilationUnit()
  unit.addSource(new File(path))
  try {
    unit.compile(Phases.CONVERSION)
    println "groovy ok: ${path}"
  } catch (MultipleCompilationErrorsException e) {
    failed++
    for (def message in e.errorCollector.errors) {
      if (message instanceof SyntaxErrorMessage) {
        def cause = message.cause
        System.err.println "${path}:${cause.line}:${cause.startColumn}: ${cause.originalMessage}"
      } else {
        System.err.println "${path}: ${message}"
      }
    }
  }
}
if (args.length == 0) {
  System.err.println 'check-groovy: no files given'
  failed = 1
}
System.exit(failed > 0 ? 1 : 0)
