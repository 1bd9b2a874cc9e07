package orchestrate

import (
	"encoding/json"
	"fmt"
	"time"
)

// goTask is the Task state running a Go or Map step's function. state is
// where the worker's state is: a Parameters template (Lambda) or a path
// (ECS, whose environment takes it as a string).
func (c *compiler) goTask(s *Step, state any) (obj, error) {
	switch {
	case c.opts.Lambda != nil:
		if c.opts.Lambda.FunctionName == "" {
			return nil, fmt.Errorf("%w: step %q: LambdaOptions.FunctionName is empty", ErrInvalidPipeline, s.Name)
		}
		payload := obj{"pipeline": c.p.Name(), "step": s.Name}
		if path, ok := state.(string); ok {
			payload["state.$"] = path
		} else {
			payload["state"] = state
		}
		return obj{"Type": "Task", "Resource": ResourceLambda,
			"Parameters":     obj{"FunctionName": c.opts.Lambda.FunctionName, "Payload": payload},
			"ResultSelector": obj{"output.$": "$.Payload"}}, nil
	case c.opts.ECS != nil:
		e := c.opts.ECS
		if e.Cluster == "" || e.TaskDefinition == "" || e.ContainerName == "" {
			return nil, fmt.Errorf("%w: step %q: ECSOptions needs Cluster, TaskDefinition and ContainerName", ErrInvalidPipeline, s.Name)
		}
		env := []any{obj{"Name": EnvState, "Value.$": "States.JsonToString(" + state.(string) + ")"}}
		res := ResourceECSSync
		if e.WaitForTaskToken {
			res = ResourceECSToken
			env = append(env, obj{"Name": EnvTaskToken, "Value.$": "$$.Task.Token"})
		}
		params := obj{"LaunchType": "FARGATE", "Cluster": e.Cluster, "TaskDefinition": e.TaskDefinition,
			"Overrides": obj{"ContainerOverrides": []any{obj{"Name": e.ContainerName,
				"Command":     []any{"-lakekit-pipeline", c.p.Name(), "-lakekit-step", s.Name},
				"Environment": env}}}}
		if len(e.Subnets) > 0 || len(e.SecurityGroups) > 0 {
			aws := obj{"Subnets": e.Subnets, "AssignPublicIp": "DISABLED"}
			if e.AssignPublicIP {
				aws["AssignPublicIp"] = "ENABLED"
			}
			if len(e.SecurityGroups) > 0 {
				aws["SecurityGroups"] = e.SecurityGroups
			}
			params["NetworkConfiguration"] = obj{"AwsvpcConfiguration": aws}
		}
		st := obj{"Type": "Task", "Resource": res, "Parameters": params}
		if e.WaitForTaskToken {
			st["ResultSelector"] = obj{"output.$": "$"}
		} else {
			// ECS's task description echoes the overrides, state included:
			// keep only the task's ARN (to find its logs).
			st["ResultSelector"] = obj{"TaskArn.$": "$.TaskArn"}
		}
		return st, nil
	}
	return nil, fmt.Errorf("%w: step %q is a Go step: CompileOptions needs ECS or Lambda settings", ErrInvalidPipeline, s.Name)
}

func (c *compiler) step(g *graph, s *Step, states obj, next string) error {
	c.owner[s.Name] = s.Name
	var st obj
	var err error
	switch s.Kind {
	case KindGo:
		st, err = c.goState(g, s, states, next)
	case KindPass:
		var v any
		json.Unmarshal(s.Result, &v)
		st = obj{"Type": "Pass", "Result": v, "ResultPath": slot(s.Name)}
	case KindWait:
		st = obj{"Type": "Wait", "Seconds": seconds(s.Wait)} // statelint wants at least 1
	case KindSQL:
		st = c.sqlState(s, next)
	case KindGlueJob:
		st = c.glueJobState(s, next)
	case KindCrawler:
		return c.crawler(s, states, next)
	case KindChoice:
		return c.choice(g, s, states, next)
	case KindMap:
		if s.Map.Distributed != nil {
			st, err = c.distributedMapState(g, s, next)
		} else {
			st, err = c.mapState(g, s, next)
		}
	case KindParallel:
		st, err = c.parallelState(s, next)
	default:
		return fmt.Errorf("%w: step %q: kind %v", ErrInvalidPipeline, s.Name, s.Kind)
	}
	if err != nil {
		return err
	}
	if s.Comment != "" && s.Kind != KindPass {
		st["Comment"] = s.Comment
	}
	setNext(st, next)
	states[s.Name] = st
	c.flushSucceed(states)
	return nil
}

// goState is a Go step's Task state (Lambda or ECS), with the Pass state
// that builds an ECS task's input in the step's slot.
func (c *compiler) goState(g *graph, s *Step, states obj, next string) (obj, error) {
	in := c.input(g, g.idx[s.Name])
	var state any = in
	if head := c.head(s); head != s.Name {
		// ECS takes the state as a string: build it in the step's own
		// slot, which the task's result then replaces.
		c.owner[head] = s.Name
		states[head] = obj{"Type": "Pass", "Parameters": in, "ResultPath": slot(s.Name), "Next": s.Name}
		state = slot(s.Name)
	}
	st, err := c.goTask(s, state)
	if err != nil {
		return nil, err
	}
	st["ResultPath"] = slot(s.Name)
	c.decorate(s, st, next, true)
	return st, nil
}

// sqlState is a SQL step's Athena StartQueryExecution.sync Task state.
func (c *compiler) sqlState(s *Step, next string) obj {
	params := obj{"QueryString": s.SQL.Query}
	db, wg, loc := firstNonEmpty(s.SQL.Database, c.opts.AthenaDatabase), firstNonEmpty(s.SQL.WorkGroup, c.opts.AthenaWorkGroup),
		firstNonEmpty(s.SQL.OutputLocation, c.opts.AthenaOutputLocation)
	if db != "" {
		params["QueryExecutionContext"] = obj{"Database": db}
	}
	if wg != "" {
		params["WorkGroup"] = wg
	}
	if loc != "" {
		params["ResultConfiguration"] = obj{"OutputLocation": loc}
	}
	if len(s.SQL.Params) > 0 {
		params["ExecutionParameters"] = s.SQL.Params
	}
	st := obj{"Type": "Task", "Resource": ResourceAthenaSync, "Parameters": params,
		"ResultSelector": obj{"QueryExecutionId.$": "$.QueryExecution.QueryExecutionId", "State.$": "$.QueryExecution.Status.State"},
		"ResultPath":     slot(s.Name)}
	c.decorate(s, st, next, true)
	return st
}

// glueJobState is a Glue job step's StartJobRun.sync Task state.
func (c *compiler) glueJobState(s *Step, next string) obj {
	params := obj{"JobName": s.Glue.JobName}
	if len(s.Glue.Arguments) > 0 {
		params["Arguments"] = s.Glue.Arguments
	}
	st := obj{"Type": "Task", "Resource": ResourceGlueJobSync, "Parameters": params,
		"ResultSelector": obj{"JobRunId.$": "$.Id", "JobRunState.$": "$.JobRunState"},
		"ResultPath":     slot(s.Name)}
	c.decorate(s, st, next, true)
	return st
}

// mapState is a Map step's inline Map state over the items another
// step's output holds, running the step's Go task once per item.
func (c *compiler) mapState(g *graph, s *Step, next string) (obj, error) {
	src, _ := g.p.find(s.Map.ItemsFrom)
	items := c.outputPath(src)
	if s.Map.ItemsPath != "" {
		items += "." + s.Map.ItemsPath
	}
	inner := genName("item:", s.Name)
	c.owner[inner] = s.Name
	t, err := c.goTask(s, "$")
	if err != nil {
		return nil, err
	}
	if sel := t["ResultSelector"].(obj); sel["output.$"] != nil {
		t["OutputPath"] = "$.output"
	} // else ECS .sync: the item's result is {"TaskArn": ...}
	t["End"] = true
	if r := c.retries(s); len(r) > 0 {
		t["Retry"] = r
	}
	if s.Timeout > 0 {
		t["TimeoutSeconds"] = seconds(s.Timeout)
	}
	sel := c.input(g, g.idx[s.Name])
	sel["item.$"], sel["index.$"] = "$$.Map.Item.Value", "$$.Map.Item.Index"
	st := obj{"Type": "Map", "ItemsPath": items,
		"ItemSelector":  sel,
		"ItemProcessor": obj{"ProcessorConfig": obj{"Mode": "INLINE"}, "StartAt": inner, "States": obj{inner: t}},
		"ResultPath":    slot(s.Name)}
	if s.Map.MaxConcurrency > 0 {
		st["MaxConcurrency"] = s.Map.MaxConcurrency
	}
	if len(s.Catches) > 0 {
		c.decorate(&Step{Name: s.Name, Catches: s.Catches}, st, next, false)
	}
	return st, nil
}

// parallelState is a Parallel step's state, one branch per chain.
func (c *compiler) parallelState(s *Step, next string) (obj, error) {
	var branches []any
	for k, b := range s.Branches {
		bs := obj{}
		endName := genName("end:", fmt.Sprintf("%s/%d", s.Name, k))
		start, err := c.chain(b, bs, endName)
		if err != nil {
			return nil, err
		}
		bs[endName] = obj{"Type": "Pass", "InputPath": "$.steps", "End": true}
		c.flushSucceed(bs)
		branches = append(branches, obj{"StartAt": start, "States": bs})
	}
	st := obj{"Type": "Parallel", "Branches": branches, "ResultPath": slot(s.Name)}
	c.decorate(s, st, next, false)
	return st, nil
}

func (c *compiler) flushSucceed(states obj) {
	for name := range c.succeed {
		states[name] = obj{"Type": "Succeed"}
		delete(c.succeed, name)
	}
}

// crawler compiles a crawler step into a Parallel state with one branch:
// start the crawl (one already running is waited for), poll the crawler
// until it is READY again, then succeed with the step's result if the last
// crawl SUCCEEDED, or fail with Lakekit.StepFailed if it FAILED or was
// CANCELLED. The Parallel carries the step's Retry (which runs the crawl
// again) and Catch, so a failed crawl is retried and caught as the local
// runner's crawler step is; its result is what the local step outputs,
// {"Crawler": name, "LastCrawlStatus": "SUCCEEDED"}.
func (c *compiler) crawler(s *Step, states obj, next string) error {
	start, wait, poll, check := genName("start:", s.Name), genName("wait:", s.Name), genName("poll:", s.Name), genName("check:", s.Name)
	ok, failed := genName("ok:", s.Name), genName("failed:", s.Name)
	for _, n := range []string{start, wait, poll, check, ok, failed} {
		c.owner[n] = s.Name
	}
	pause := c.opts.CrawlerPoll
	if pause <= 0 {
		pause = 30 * time.Second
	}
	st := obj{"Type": "Task", "Resource": ResourceStartCrawler, "Parameters": obj{"Name": s.Crawler}, "ResultPath": nil, "Next": wait,
		// A crawl already running is waited for, not an error.
		"Catch": []any{obj{"ErrorEquals": []string{"Glue.CrawlerRunningException"}, "Next": wait, "ResultPath": nil}}}
	if s.Timeout > 0 {
		st["TimeoutSeconds"] = seconds(s.Timeout)
	}
	status := "$.Crawler.LastCrawl.Status"
	branch := obj{
		start: st,
		wait:  obj{"Type": "Wait", "Seconds": seconds(pause), "Next": poll},
		poll:  obj{"Type": "Task", "Resource": ResourceGetCrawler, "Parameters": obj{"Name": s.Crawler}, "Next": check},
		check: obj{"Type": "Choice", "Choices": []any{
			obj{"Not": obj{"Variable": "$.Crawler.State", "StringEquals": "READY"}, "Next": wait},
			// READY before the crawl shows up: not started yet.
			obj{"Not": obj{"Variable": status, "IsPresent": true}, "Next": wait},
			obj{"Variable": status, "StringEquals": "SUCCEEDED", "Next": ok},
		}, "Default": failed},
		ok: obj{"Type": "Pass", "Parameters": obj{"Crawler.$": "$.Crawler.Name", "LastCrawlStatus.$": status}, "End": true},
		failed: obj{"Type": "Fail", "Error": ErrorStepFailed,
			"Cause": fmt.Sprintf("the last crawl of Glue crawler %q did not succeed (FAILED or CANCELLED; see the crawler's LastCrawl)", s.Crawler)},
	}
	par := obj{"Type": "Parallel", "Branches": []any{obj{"StartAt": start, "States": branch}},
		"ResultSelector": obj{"Crawler.$": "$[0].Crawler", "LastCrawlStatus.$": "$[0].LastCrawlStatus"}, "ResultPath": slot(s.Name)}
	c.decorate(s, par, next, false)
	if s.Comment != "" {
		par["Comment"] = s.Comment
	}
	setNext(par, next)
	states[s.Name] = par
	c.flushSucceed(states)
	return nil
}

func (c *compiler) choice(g *graph, s *Step, states obj, next string) error {
	var rules []any
	chose := func(target string) string {
		name := genName("chose:", s.Name+":"+target)
		if _, ok := states[name]; !ok {
			c.owner[name] = s.Name
			st := obj{"Type": "Pass", "Result": obj{"next": target}, "ResultPath": slot(s.Name)}
			setNext(st, next)
			states[name] = st
		}
		return name
	}
	for _, r := range s.Rules {
		src, _ := g.p.find(r.Step)
		v := c.outputPath(src)
		if r.Field != "" {
			v += "." + r.Field
		}
		rule := obj{"Variable": v, "Next": chose(r.Next)}
		switch r.Op {
		case IsPresent, BooleanEquals, StringEquals:
			rule[string(r.Op)] = r.Value
		default:
			f, _ := toFloat(r.Value)
			rule[string(r.Op)] = f
		}
		rules = append(rules, rule)
	}
	st := obj{"Type": "Choice", "Choices": rules}
	if s.Default != "" {
		st["Default"] = chose(s.Default)
	}
	if s.Comment != "" {
		st["Comment"] = s.Comment
	}
	states[s.Name] = st
	return nil
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}
