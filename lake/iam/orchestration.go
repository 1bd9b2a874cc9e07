package iam

import (
	"fmt"
	"regexp"
	"strings"
)

var sfnNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// StepFunctions grants starting and watching a state machine's
// executions. DeployStateMachine grants deploying it.
func (p *Policy) StepFunctions(stateMachine string) *Policy {
	if !sfnNameRE.MatchString(stateMachine) {
		p.errs = append(p.errs, fmt.Errorf("iam: state machine name %q is not valid: %w", stateMachine, ErrInvalid))
		return p
	}
	base := fmt.Sprintf("arn:%s:states:%s:%s", p.acct.Partition, p.acct.Region, p.acct.ID)
	sm := base + ":stateMachine:" + stateMachine
	ex := base + ":execution:" + stateMachine + ":*"
	p.add("StatesRun", []string{"states:StartExecution", "states:DescribeStateMachine"}, []string{sm}, "")
	p.add("StatesWatch", []string{"states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"}, []string{ex}, "")
	return p
}

// StatesPrincipal is the service state machine roles are passed to.
const StatesPrincipal = "states.amazonaws.com"

// DeployStateMachine grants what orchestrate's SFN.Deploy calls to create
// or update a state machine that runs as roleARN:
// states:CreateStateMachine and states:UpdateStateMachine on it,
// iam:PassRole on the role to Step Functions only (the Service
// Authorization Reference lists it as a dependent action of both), and
// states:ListStateMachines, which has no resource types and so is
// granted on "*" (the update path looks the state machine's ARN up).
func (p *Policy) DeployStateMachine(stateMachine, roleARN string) *Policy {
	if !sfnNameRE.MatchString(stateMachine) {
		p.errs = append(p.errs, fmt.Errorf("iam: state machine name %q is not valid: %w", stateMachine, ErrInvalid))
		return p
	}
	p.add("StatesDeploy", []string{"states:CreateStateMachine", "states:UpdateStateMachine"}, []string{p.arn("states", "stateMachine:"+stateMachine)}, "")
	p.add("StatesList", []string{"states:ListStateMachines"}, []string{"*"}, "")
	return p.PassRole(StatesPrincipal, roleARN)
}

// GlueJob grants starting and watching a Glue job's runs.
func (p *Policy) GlueJob(job string) *Policy {
	if !regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`).MatchString(job) {
		p.errs = append(p.errs, fmt.Errorf("iam: Glue job %q is not a valid name: %w", job, ErrInvalid))
		return p
	}
	p.add("GlueJobs", []string{"glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns"},
		[]string{fmt.Sprintf("arn:%s:glue:%s:%s:job/%s", p.acct.Partition, p.acct.Region, p.acct.ID, job)}, "")
	return p
}

// GlueJobSync grants what Step Functions' glue:startJobRun.sync integration
// calls: GlueJob's start and watch actions, and glue:BatchStopJobRun to
// stop the run when the execution stops.
func (p *Policy) GlueJobSync(job string) *Policy {
	if !glueJobRE.MatchString(job) {
		p.errs = append(p.errs, fmt.Errorf("iam: Glue job %q is not a valid name: %w", job, ErrInvalid))
		return p
	}
	p.GlueJob(job)
	p.add("GlueJobStop", []string{"glue:BatchStopJobRun"}, []string{p.arn("glue", "job/"+job)}, "")
	return p
}

var glueJobRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)

// Crawler grants starting a Glue crawler and reading its state.
func (p *Policy) Crawler(name string) *Policy {
	if !glueJobRE.MatchString(name) {
		p.errs = append(p.errs, fmt.Errorf("iam: Glue crawler %q is not a valid name: %w", name, ErrInvalid))
		return p
	}
	p.add("GlueCrawlers", []string{"glue:StartCrawler", "glue:GetCrawler"}, []string{p.arn("glue", "crawler/"+name)}, "")
	return p
}

var (
	lambdaNameRE = regexp.MustCompile(`^([A-Za-z0-9_-]{1,64})(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$`)
	lambdaARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$`)
)

// LambdaInvoke grants invoking a Lambda function, given by name (with an
// optional ":version" or ":alias" qualifier) in the policy's account and
// region, or by full ARN.
func (p *Policy) LambdaInvoke(function string) *Policy {
	res := function
	switch {
	case lambdaARNRE.MatchString(function):
	case lambdaNameRE.MatchString(function):
		res = p.arn("lambda", "function:"+function)
	default:
		p.errs = append(p.errs, fmt.Errorf("iam: %q is not a Lambda function name (name[:qualifier]) or ARN: %w", function, ErrInvalid))
		return p
	}
	p.add("LambdaInvoke", []string{"lambda:InvokeFunction"}, []string{res}, "")
	return p
}

var (
	ecsNameRE       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	ecsClusterARNRE = regexp.MustCompile(`^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:)cluster/([A-Za-z0-9_-]{1,255})$`)
	ecsTaskDefRE    = regexp.MustCompile(`^([A-Za-z0-9_-]{1,255})(:[1-9][0-9]*)?$`)
	ecsTaskDefARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/[A-Za-z0-9_-]{1,255}:[1-9][0-9]*$`)
	roleARNRE       = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
)

// ECSStepFunctionsRule is the EventBridge rule Step Functions manages to
// learn that the ECS tasks of ecs:runTask.sync states stopped.
const ECSStepFunctionsRule = "StepFunctionsGetEventsForECSTaskRule"

// ECSTask grants running tasks of a task definition ("family",
// "family:revision" or an ARN; every revision of a family without one) on
// a cluster (name or ARN). With sync, it also grants what Step Functions'
// ecs:runTask.sync integration needs to watch and stop the task: describing
// and stopping the cluster's tasks, and the managed EventBridge rule
// ECSStepFunctionsRule. The task's roles need PassRole.
func (p *Policy) ECSTask(cluster, taskDefinition string, sync bool) *Policy {
	tasks := p.arn("ecs", "task/"+cluster+"/*")
	if m := ecsClusterARNRE.FindStringSubmatch(cluster); m != nil {
		tasks = m[1] + "task/" + m[2] + "/*" // the cluster's region and account
	} else if !ecsNameRE.MatchString(cluster) {
		p.errs = append(p.errs, fmt.Errorf("iam: ECS cluster %q is not a cluster name or ARN: %w", cluster, ErrInvalid))
		return p
	}
	td := taskDefinition
	switch m := ecsTaskDefRE.FindStringSubmatch(taskDefinition); {
	case ecsTaskDefARNRE.MatchString(taskDefinition):
	case m != nil && m[2] == "":
		td = p.arn("ecs", "task-definition/"+m[1]+":*")
	case m != nil:
		td = p.arn("ecs", "task-definition/"+taskDefinition)
	default:
		p.errs = append(p.errs, fmt.Errorf("iam: ECS task definition %q is not family[:revision] or a task definition ARN: %w", taskDefinition, ErrInvalid))
		return p
	}
	p.add("ECSRunTask", []string{"ecs:RunTask"}, []string{td}, "")
	if sync {
		p.add("ECSWatchTasks", []string{"ecs:DescribeTasks", "ecs:StopTask"}, []string{tasks}, "")
		p.EventsRule(ECSStepFunctionsRule)
	}
	return p
}

var eventsRuleRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// EventsRule grants creating and describing an EventBridge rule and
// setting its targets, as Step Functions does with the rules it manages
// for .sync integrations.
func (p *Policy) EventsRule(rule string) *Policy {
	if !eventsRuleRE.MatchString(rule) {
		p.errs = append(p.errs, fmt.Errorf("iam: EventBridge rule name %q is not valid: %w", rule, ErrInvalid))
		return p
	}
	p.add("EventsRules", []string{"events:PutRule", "events:PutTargets", "events:DescribeRule"}, []string{p.arn("events", "rule/"+rule)}, "")
	return p
}

// PassRole grants passing roles (ARNs) to an AWS service
// ("ecs-tasks.amazonaws.com" for ECS task roles), and to no other: the
// statement carries an iam:PassedToService condition.
func (p *Policy) PassRole(service string, roleARNs ...string) *Policy {
	if !regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com$`).MatchString(service) {
		p.errs = append(p.errs, fmt.Errorf("iam: %q is not an AWS service principal (like ecs-tasks.amazonaws.com): %w", service, ErrInvalid))
		return p
	}
	if len(roleARNs) == 0 {
		p.errs = append(p.errs, fmt.Errorf("iam: PassRole to %s names no role: %w", service, ErrInvalid))
		return p
	}
	sid := "PassRole" + camel(strings.TrimSuffix(service, ".amazonaws.com"))
	for _, r := range roleARNs {
		if !roleARNRE.MatchString(r) {
			p.errs = append(p.errs, fmt.Errorf("iam: %q is not an IAM role ARN (arn:aws:iam::account:role/name): %w", r, ErrInvalid))
			continue
		}
		p.add(sid, []string{"iam:PassRole"}, []string{r}, "")
		p.addCond(sid, "StringEquals", "iam:PassedToService", service)
	}
	return p
}

// camel turns "ecs-tasks" into "EcsTasks", for Sids.
func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// TaskResponse grants reporting the results of .waitForTaskToken tasks:
// states:SendTaskSuccess and states:SendTaskFailure, which is what
// orchestrate.Worker calls, and states:SendTaskHeartbeat. These actions
// have no resource types in the Service Authorization Reference (the
// task token, not an ARN, names the task), so they are granted on "*":
// on a state machine ARN they would be denied and the execution would
// wait for its task until it times out.
func (p *Policy) TaskResponse() *Policy {
	p.add("StatesTaskResponse", []string{"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}, []string{"*"}, "")
	return p
}
